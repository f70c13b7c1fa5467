// GraphQL multipart requests (the graphql-multipart-request-spec that yoga
// reads): the operation in one form part, each file in its own.

export interface UploadedFile {
  /** Where the file goes in the variables, e.g. `variables.input.file` (set to null in `variables`). */
  at: string;
  name: string;
  content: string | Uint8Array<ArrayBuffer>;
  type?: string;
}

/**
 * Posts `query` with `files` as a multipart request (with `headers`, e.g. an
 * authorization); answers the HTTP status and the JSON body.
 */
export async function postMultipart<Body>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  files: readonly UploadedFile[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body }> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables }));
  form.set('map', JSON.stringify(Object.fromEntries(files.map((file, index) => [index, [file.at]]))));
  files.forEach((file, index) => form.set(String(index), new Blob([file.content], { type: file.type ?? 'application/octet-stream' }), file.name));
  // A multipart post is a "simple" request: CSRF prevention wants its header.
  const response = await fetch(url, { method: 'POST', body: form, headers: { 'x-graphql-yoga-csrf': '1', ...headers } });
  return { status: response.status, body: (await response.json()) as Body };
}
