// Import files for the ImportJob tests, and createImportJob as a GraphQL
// multipart request (the file in a form part).
import { postMultipart } from '../../src/testing/multipart.ts';
import type { GraphQLTestClient } from './app.ts';
import { CreateImportJob } from './operations-imports.ts';
import type { CreateImportJobMutation, DuplicatePolicyInput, ImportSourceType } from '../generated/graphql.ts';

export type CreateImportResult = CreateImportJobMutation['createImportJob'];

/** createImportJob as a GraphQL multipart request: the HTTP status and the response body as sent. */
export async function postImport(
  client: GraphQLTestClient,
  file: { name: string; content: string | Uint8Array<ArrayBuffer>; type?: string },
  input: { sourceType?: ImportSourceType; maxRetries?: number; duplicatePolicy?: DuplicatePolicyInput } = {},
): Promise<{ status: number; body: { data?: CreateImportJobMutation; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } }> {
  return postMultipart(client.url, CreateImportJob.toString(), { input: { ...input, file: null } }, [{ at: 'variables.input.file', ...file }], client.authHeaders());
}

export async function uploadImport(...args: Parameters<typeof postImport>): Promise<CreateImportResult> {
  const { body } = await postImport(...args);
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data!.createImportJob;
}

/** The created job, or the test fails with the typed error. */
export function createdImport(result: CreateImportResult) {
  if (result.__typename !== 'MutationCreateImportJobSuccess') throw new Error(`expected a created import: ${JSON.stringify(result)}`);
  return result.data;
}

export interface Pair {
  question: string;
  answer: string;
  tags: string[];
}

const csvField = (value: string) => (/[",\n\r]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value);

export function toCsv(pairs: readonly Pair[], header = 'question,answer,tags'): string {
  return `${header}\r\n${pairs.map((p) => [p.question, p.answer, p.tags.join(';')].map(csvField).join(',')).join('\r\n')}\r\n`;
}

export function toJsonArray(pairs: readonly Pair[]): string {
  return `[\n${pairs.map((p) => `  ${JSON.stringify(p)}`).join(',\n')}\n]\n`;
}

export function toJsonLines(pairs: readonly Pair[]): string {
  return `${pairs.map((p) => JSON.stringify(p)).join('\n')}\n`;
}

export function toText(pairs: readonly Pair[]): string {
  return pairs.map((p) => `Q: ${p.question}\nA: ${p.answer}${p.tags.length ? `\nTags: ${p.tags.join(', ')}` : ''}\n`).join('\n');
}
