// Headers that keep the API's pages out of other sites' frames.
import type { Plugin } from 'graphql-yoga';

/**
 * No page of the API may be framed by another site (clickjacking GraphiQL into
 * running a mutation): every answer says so, in both the current and the old
 * header. The dashboard sets its own, stricter policy (http/dashboard.ts).
 */
export const noFraming: Plugin = {
  onResponse({ response }) {
    if (!response.headers.has('content-security-policy')) response.headers.set('content-security-policy', "frame-ancestors 'none'");
    response.headers.set('x-frame-options', 'DENY');
  },
};
