// Queries run compiled (graphql-jit): each document is compiled once into a
// function that walks its selection without graphql-js's per-field type checks,
// argument coercion and path bookkeeping (the executor was the largest share of
// the API's CPU on a page of 50 jobs with their steps and events:
// docs/performance.md). The same resolvers run (Pothos' wrappers, scope-auth,
// plugin-prisma's selections).
// An answer with any error is thrown away and the query runs again on yoga's
// own executor: graphql-jit words variable errors its own way and builds its
// errors without graphql-js's extensions, so every error a client sees (and
// error-masking.ts classifies) stays the one graphql-js gives. A query reads
// only, so running it twice changes nothing. Not when the database failed it
// (no free connection, the statement timeout, unreachable): a second run would
// wait as long again, and error-masking.ts answers those from their code and
// path alone, the same from either executor.
// Mutations and subscriptions keep yoga's executor (a mutation's Errors-plugin
// unions, the shared subscription execution of shared-execution.ts).
// A compiled query lives as long as yoga's parsed document (its LRU cache).
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isDatabaseFailure } from './error-masking.ts';

/** Per document, per operation name: its compiled query, or null when it is no query or graphql-jit cannot compile it. */
const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

function compiledQuery(schema: Parameters<typeof compileQuery>[0], document: DocumentNode, operationName: string | null | undefined): CompiledQuery | null {
  let byName = compiled.get(document);
  if (!byName) compiled.set(document, (byName = new Map()));
  const name = operationName ?? '';
  let query = byName.get(name);
  if (query !== undefined) return query;
  query = null;
  if (getOperationAST(document, operationName)?.operation === 'query') {
    const result = compileQuery(schema, document, operationName ?? undefined);
    if (isCompiledQuery(result)) query = result;
  }
  byName.set(name, query);
  return query;
}

export function compiledQueries(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const query = compiledQuery(args.schema, args.document, args.operationName);
      if (!query) return;
      setExecuteFn(async (execution) => {
        const result = (await query.query(execution.rootValue, execution.contextValue, execution.variableValues)) as ExecutionResult;
        return result.errors?.length && !result.errors.some(isDatabaseFailure) ? executeFn(execution) : result;
      });
    },
  };
}
