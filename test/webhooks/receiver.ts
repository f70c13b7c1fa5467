// A local webhook receiver for tests: records every request (headers and raw
// body) and answers the statuses it is told, in order, then 200.
import type { IncomingHttpHeaders } from 'node:http';
import { startHttpServer } from '../support/http-server.ts';
import { deferred } from '../support/wait.ts';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it was answered (0: held, never answered). */
  answered: number;
}

export async function startReceiver() {
  const received: ReceivedRequest[] = [];
  const answers: Array<number | 'hold'> = [];
  const waiters: Array<{ until: () => boolean; resolve: () => void }> = [];
  const { url } = await startHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const answer = answers.shift() ?? 200;
      const answered = answer === 'hold' ? 0 : answer;
      received.push({ path: req.url!, headers: req.headers, body, answered });
      if (answered) res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered < 300 ? 'ok' : 'not now');
      for (const waiter of waiters.splice(0)) if (waiter.until()) waiter.resolve(); else waiters.push(waiter);
    });
  });
  return {
    url,
    received,
    /** The next requests are answered with these statuses (then 200 again); 'hold': never answered. */
    answerNext(...statuses: Array<number | 'hold'>) {
      answers.push(...statuses);
    },
    /** Resolves once `until` holds for the requests received. */
    async waitFor(what: string, until: (requests: ReceivedRequest[]) => boolean): Promise<ReceivedRequest[]> {
      const done = deferred<void>(`${what} (received: ${JSON.stringify(received.map((r) => [r.path, r.answered, r.body]))})`);
      const check = () => until(received);
      if (check()) return received;
      waiters.push({ until: check, resolve: () => done.resolve() });
      await done.promise;
      return received;
    },
  };
}
