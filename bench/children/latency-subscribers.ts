// A child process of bench:latency holding a share of its subscribers: real
// graphql-ws clients, one socket each, subscribed to jobEvents. One process
// cannot take 10,000 sockets' messages fast enough to measure the API rather
// than itself, so bench/latency.ts spreads them over several of these. Driven
// by IPC messages from the parent:
//   { type: 'start', url, queue, count, firstIndex }  connect and subscribe, a batch at a
//                       time; answers 'connecting' after each batch, 'connected' at the end
//   { type: 'reset' }   forget what arrived (the probe); answers 'reset'
//   { type: 'collect' } answers 'collected' with the latencies and each distinct
//                       sequence of event ids with how many subscribers got it
// and reports 'received' with the fewest events any subscriber has (after each
// reset), so that the parent knows when every event has arrived everywhere.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const SUBSCRIPTION = `subscription ($queue: String!) {
  jobEvents(filter: { queueNames: [$queue], statuses: [COMPLETED] }) { id createdAt }
}`;

type Command =
  | { type: 'start'; url: string; queue: string; count: number; firstIndex: number }
  | { type: 'reset' }
  | { type: 'collect' }
  | { type: 'stop' };

const send = (message: unknown) => process.send!(message);
const clients: Client[] = [];
/** Per subscriber, the event ids in arrival order. */
let sequences: string[][] = [];
let latencies: number[] = [];
let disposing = false;
let fewest = 0;
let reportTimer: NodeJS.Timeout | null = null;

const fail = (subscriber: number, what: unknown) => {
  if (disposing) return;
  const close = what as { code?: number; reason?: string };
  send({
    type: 'failed',
    message: `subscriber ${subscriber + 1}: ${close?.code !== undefined ? `socket closed ${close.code} ${close.reason ?? ''}`.trim() : JSON.stringify(what)}`,
  });
};

/** Reports the fewest events any subscriber has, at most every 50 ms. */
function reportProgress() {
  reportTimer ??= setTimeout(() => {
    reportTimer = null;
    let least = Infinity;
    for (const seen of sequences) least = Math.min(least, seen.length);
    if (least !== fewest) send({ type: 'received', fewest: (fewest = least) });
  }, 50);
}

/** Sockets a process opens at once: more together overflow the API's listen backlog (511; ECONNRESET, 4408). */
const CONNECT_BATCH = 50;

async function start({ url, queue, count, firstIndex }: Extract<Command, { type: 'start' }>) {
  sequences = Array.from({ length: count }, () => []);
  for (let batch = 0; batch < count; batch += CONNECT_BATCH) {
    const size = Math.min(CONNECT_BATCH, count - batch);
    let connected = 0;
    const allConnected = new Promise<void>((resolve) => {
      for (let i = batch; i < batch + size; i++) subscribe(url, queue, i, firstIndex, () => ++connected === size && resolve());
    });
    await allConnected;
    send({ type: 'connecting', connected: batch + size });
  }
  send({ type: 'connected' });
}

function subscribe(url: string, queue: string, i: number, firstIndex: number, onConnected: () => void) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    on: { connected: onConnected, closed: (event) => fail(firstIndex + i, event) },
  });
  clients.push(client);
  client.subscribe<{ jobEvents: { id: string; createdAt: string } }>(
    { query: SUBSCRIPTION, variables: { queue } },
    {
      next: ({ data }) => {
        const arrived = Date.now();
        const event = data!.jobEvents;
        // Read at each event: a reset replaces the lists.
        sequences[i]!.push(event.id);
        latencies.push(arrived - Date.parse(event.createdAt));
        reportProgress();
      },
      error: (error) => fail(firstIndex + i, error),
      complete: () => fail(firstIndex + i, 'the subscription completed'),
    },
  );
}

process.on('message', async (command: Command) => {
  switch (command.type) {
    case 'start':
      return start(command).catch((error) => send({ type: 'failed', message: String(error) }));
    case 'reset':
      sequences = sequences.map(() => []);
      latencies = [];
      fewest = 0;
      return send({ type: 'reset' });
    case 'collect': {
      // Subscribers with the same sequence are counted together: normally all of them.
      const distinct = new Map<string, number>();
      for (const seen of sequences) {
        const key = seen.join(',');
        distinct.set(key, (distinct.get(key) ?? 0) + 1);
      }
      return send({
        type: 'collected',
        latencies: Int32Array.from(latencies),
        sequences: [...distinct].map(([ids, subscribers]) => ({ ids: ids ? ids.split(',') : [], subscribers })),
      });
    }
    case 'stop':
      disposing = true;
      await Promise.allSettled(clients.map((client) => client.dispose()));
      process.exit(0);
  }
});
send({ type: 'ready' });
