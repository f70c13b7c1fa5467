// Input no resolver should see, refused at the edge with the place named:
// - text Postgres cannot store: a NUL character (jsonb and text refuse it,
//   22P05 / 22021) or a lone UTF-16 surrogate (not Unicode; 22P02);
// - values nested deeper than INPUT_MAX_DEPTH: JSON.stringify and zod recurse,
//   and 10,000 levels overflow the stack;
// - a document nested so deep that graphql-js's recursive parser would
//   overflow the stack: its tokens are counted first, without recursion.
// Every walk here is iterative.
import {
  GraphQLError,
  Kind,
  Lexer,
  parse as graphqlParse,
  Source,
  TokenKind,
  visit,
  type ASTNode,
  type DocumentNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import { BAD_USER_INPUT } from './error-masking.ts';

/** Why text cannot be stored, or null when it can. */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000), which Postgres cannot store';
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    return 'contains a lone UTF-16 surrogate (not valid Unicode), which Postgres cannot store';
  }
  return null;
}

/** A path short enough to read: its start and its end (a 10,000-level path is not). */
function shortPath(parts: readonly string[], join = '.'): string {
  return parts.length <= 12 ? parts.join(join) : `${parts.slice(0, 8).join(join)}${join}…${join}${parts.slice(-2).join(join)}`;
}

function refuse(place: string, message: string, extensions: Record<string, unknown> = {}) {
  return new GraphQLError(`${place}: ${message}`, { extensions: { code: BAD_USER_INPUT, ...extensions } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The first problem in a request's variables, as `$name.path.to.value`.
 * Uploads (File objects) and other non-plain values are not entered.
 */
export function checkVariables(variables: Record<string, unknown> | null | undefined, maxDepth: number): GraphQLError | null {
  if (!variables) return null;
  const stack: Array<{ value: unknown; path: string[] }> = Object.entries(variables).map(([name, value]) => ({
    value,
    path: [`$${name}`],
  }));
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = unstorableText(value);
      if (problem) return refuse(shortPath(path), problem);
      continue;
    }
    const isArray = Array.isArray(value);
    if (!isArray && !isPlainObject(value)) continue;
    // path holds the variable's name, then one key per level above this value.
    if (path.length > maxDepth) {
      return refuse(shortPath(path), `is nested more than ${maxDepth} levels deep (INPUT_MAX_DEPTH)`, { bound: maxDepth });
    }
    if (isArray) {
      value.forEach((item, index) => stack.push({ value: item, path: [...path, String(index)] }));
      continue;
    }
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const problem = unstorableText(key);
      if (problem) return refuse(`${shortPath(path)} (a key)`, problem);
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return null;
}

/** `field.argument.field.0.field`: where in the document a value sits. */
function placeOf(ancestors: ReadonlyArray<ASTNode | ReadonlyArray<ASTNode>>, path: ReadonlyArray<string | number>): string {
  const parts: string[] = [];
  ancestors.forEach((ancestor, index) => {
    if (Array.isArray(ancestor)) return;
    const node = ancestor as ASTNode;
    if (node.kind === Kind.FIELD) parts.push(node.alias?.value ?? node.name.value);
    else if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) parts.push(node.name.value);
    // A list's element: path[index] is 'values', the key after it the element's index.
    else if (node.kind === Kind.LIST) parts.push(String(path[index + 1] ?? ''));
  });
  return shortPath(parts.filter(Boolean));
}

/** The first problem in the values written into a document (literals). */
export function checkLiterals(document: DocumentNode, maxDepth: number): GraphQLError | null {
  let found: GraphQLError | null = null;
  const isContainer = (node: ASTNode | ReadonlyArray<ASTNode>) =>
    !Array.isArray(node) && ((node as ASTNode).kind === Kind.OBJECT || (node as ASTNode).kind === Kind.LIST);
  visit(document, {
    enter(node, _key, parent, path, ancestors) {
      if (found) return false;
      const container = isContainer(node);
      if (!container && node.kind !== Kind.STRING) return undefined;
      // visit's ancestors stop short of the parent; with it, chain[i][path[i]] is chain[i + 1].
      const chain = parent ? [...ancestors, parent as ASTNode | ReadonlyArray<ASTNode>] : [...ancestors];
      if (container && chain.filter(isContainer).length + 1 > maxDepth) {
        found = refuse(placeOf([...chain, node], path), `is nested more than ${maxDepth} levels deep (INPUT_MAX_DEPTH)`, { bound: maxDepth });
      } else if (node.kind === Kind.STRING) {
        const problem = unstorableText(node.value);
        if (problem) found = refuse(placeOf(chain, path), problem);
      }
      return undefined;
    },
  });
  return found;
}

/** Deepest nesting of { [ ( a document may have; the parser recurses once per level. */
export function documentNestingBound(maxDepth: number) {
  return maxDepth + 100;
}

/**
 * `parse` (graphql-js's, or the one another plugin set, e.g. graphql-armor's
 * token limit) after counting the document's nesting without recursion.
 */
export function guardedParse(maxNesting: number, parse: typeof graphqlParse = graphqlParse): typeof graphqlParse {
  return (source, options) => {
    const body = typeof source === 'string' ? new Source(source) : source;
    const lexer = new Lexer(body);
    // The name before each open bracket (a field, an argument, an input field), to say where.
    const names: string[] = [];
    let lastName = '';
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (token.kind === TokenKind.NAME) lastName = token.value;
      else if (token.kind === TokenKind.BRACE_L || token.kind === TokenKind.BRACKET_L || token.kind === TokenKind.PAREN_L) {
        names.push(lastName);
        lastName = '';
        if (names.length > maxNesting) {
          throw new GraphQLError(
            `Syntax Error: ${shortPath(names.filter(Boolean))} nests more than ${maxNesting} levels of { [ (; input values may be nested at most INPUT_MAX_DEPTH levels deep.`,
            { source: body, positions: [token.start], extensions: { code: 'GRAPHQL_PARSE_FAILED', bound: maxNesting } },
          );
        }
      } else if (token.kind === TokenKind.BRACE_R || token.kind === TokenKind.BRACKET_R || token.kind === TokenKind.PAREN_R) {
        names.pop();
      }
    }
    return parse(body, options);
  };
}

/**
 * The yoga plugin: documents at parse, literals and variables before execution
 * (HTTP and websockets). A refusal here never reaches maskError, so it is
 * logged here, once, as the client's mistake it is.
 */
export function inputGuard(maxDepth: number, logger: Logger): Plugin {
  const maxNesting = documentNestingBound(maxDepth);
  const guarded = new WeakMap<typeof graphqlParse, typeof graphqlParse>();
  // yoga reuses the parsed document of a query it has seen: its literals are checked once.
  const literalProblems = new WeakMap<DocumentNode, GraphQLError | null>();
  const checkDocument = (document: DocumentNode) => {
    if (!literalProblems.has(document)) literalProblems.set(document, checkLiterals(document, maxDepth));
    return literalProblems.get(document)!;
  };
  const check = (document: DocumentNode, variables: Record<string, unknown> | null | undefined) => {
    const error = checkDocument(document) ?? checkVariables(variables, maxDepth);
    if (error) logger.info({ code: BAD_USER_INPUT, error: error.message }, 'client error in a GraphQL request');
    return error;
  };
  return {
    // Wraps the parse the plugins before it set (list this plugin after them):
    // their parsers recurse too, so the nesting is counted first.
    onParse: ({ parseFn, setParseFn }) => {
      let parse = guarded.get(parseFn);
      if (!parse) guarded.set(parseFn, (parse = guardedParse(maxNesting, parseFn)));
      setParseFn(parse);
    },
    // yoga answers validation errors without masking them: logged here.
    onValidate: () => ({ valid, result }) => {
      if (!valid) {
        logger.info({ code: 'GRAPHQL_VALIDATION_FAILED', error: result.map((error) => error.message).join('; ') }, 'client error in a GraphQL request');
      }
    },
    onExecute: ({ args, setResultAndStopExecution }) => {
      const error = check(args.document, args.variableValues as Record<string, unknown> | null | undefined);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const error = check(args.document, args.variableValues as Record<string, unknown> | null | undefined);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
