// yoga's CSRF prevention: a simple request (a form or text/plain, which any web
// page may send cross-site) must carry this header, which only a page allowed
// by CORS can set.

/** The request header browsers must send with a simple (form or text/plain) request. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** What yoga's CSRF prevention answers a simple request without the header. */
export const CSRF_REFUSAL = 'Required CSRF header(s) not present';
