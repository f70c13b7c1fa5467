// How large an upload may be: the largest file any kind's mutation accepts
// (its descriptor's uploadMaxBytes), with the form fields around it.
import type { IncomingMessage } from 'node:http';
import { largestUpload } from '../kind-descriptor.ts';
import type { ApiServices } from '../graphql/context.ts';

/** The largest multipart body: the largest file any mutation accepts plus its form fields (operations, map), which are small. */
export function multipartMaxBytes(services: Pick<ApiServices, 'config' | 'kinds'>): number {
  return largestUpload(services.kinds, services.config) + services.config.REQUEST_JSON_MAX_BYTES;
}

export function isUpload(request: IncomingMessage): boolean {
  return request.method === 'POST' && /^multipart\/form-data/i.test(request.headers['content-type'] ?? '');
}
