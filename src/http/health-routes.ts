// The health probes on the API's port (health.ts decides what they answer).
import type { Plugin } from 'graphql-yoga';
import { healthAnswer } from '../health.ts';
import type { ApiServices } from '../graphql/context.ts';

/**
 * /health/live: the process runs. /health/ready: it can serve (health.ts),
 * 503 with the failing checks otherwise. Answered before GraphQL, without a query.
 */
export function healthEndpoints(services: ApiServices): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      const answer = healthAnswer(url.pathname, services.health);
      if (answer) endResponse(fetchAPI.Response.json(answer.body, { status: answer.status }));
    },
  };
}
