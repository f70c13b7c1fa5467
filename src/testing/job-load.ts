// The load that fault tests and bench:chaos put on the service, as production
// meets it: three clients create jobs through the API every 150–300 ms (half
// `createJob`, half `createJobs` of 5–10, sent on time whatever the answers take), 50 % system.noop, 35 % system.sleep
// of 0.1–1.5 s, 15 % system.sleep of 4–8 s reporting progress 3–4 times, so
// long jobs are RUNNING at any fault. Clients go on through a fault: every
// answer is counted, none is retried.
import { setTimeout as delay } from 'node:timers/promises';
import { uuidOf } from './global-id.ts';

const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on MutationCreateJobSuccess { data { id } } } }`;
const CREATE_JOBS = `mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename ... on MutationCreateJobsSuccess { data { id } } } }`;

/**
 * Worker slots the load needs: about 57 jobs a second, 1.2 s of sleep per job
 * on average, so about 67 slots busy. Two workers of this many carry it; with
 * fewer, a backlog grows by itself, whatever the fault.
 */
export const LOAD_WORKER_CONCURRENCY = 40;

const random = (min: number, max: number) => min + Math.random() * (max - min);

export function randomJob(queueName: string) {
  const roll = Math.random();
  if (roll < 0.5) return { jobType: 'system.noop', queueName };
  if (roll < 0.85) return { jobType: 'system.sleep', queueName, payload: { ms: Math.round(random(100, 1500)), ticks: 3 } };
  return { jobType: 'system.sleep', queueName, payload: { ms: Math.round(random(4000, 8000)), ticks: 3 + Math.floor(Math.random() * 2) } };
}

export interface LoadOutcome {
  /** Ids of the jobs whose create was answered with success. */
  acknowledged: string[];
  /** Answers other than success, by "<HTTP status> <extensions.code>" (or "no answer", or "timeout": none in 30 s). */
  refused: Map<string, number>;
  /** The longest wait for an answer (ms). */
  slowestMs: number;
}

async function post(url: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await response.json()) as {
    data?: { createJob?: { data?: { id: string } }; createJobs?: { data?: Array<{ id: string }> } };
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  return { response, json };
}

export class JobLoad {
  readonly outcome: LoadOutcome = { acknowledged: [], refused: new Map(), slowestMs: 0 };
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly queueName: string,
    private readonly headers: Record<string, string> = {},
    clients = 3,
  ) {
    this.#done = Promise.all(Array.from({ length: clients }, () => this.#client())).then(() => undefined);
  }

  /** Stops every client after its request in flight; resolves with what they were answered. */
  async stop(): Promise<LoadOutcome> {
    this.#stopped = true;
    await this.#done;
    return this.outcome;
  }

  /** Sends every 150–300 ms whatever the answers take (an open loop): the rate offered does not follow the API's latency. */
  async #client() {
    const inFlight = new Set<Promise<void>>();
    while (!this.#stopped) {
      await delay(random(150, 300));
      if (this.#stopped) break;
      const sent = this.#send().finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
    await Promise.all(inFlight);
  }

  async #send() {
    const body =
      Math.random() < 0.5
        ? { query: CREATE_JOBS, variables: { jobs: Array.from({ length: 5 + Math.floor(Math.random() * 6) }, () => randomJob(this.queueName)) } }
        : { query: CREATE_JOB, variables: { input: randomJob(this.queueName) } };
    const sentAt = Date.now();
    try {
      const { response, json } = await post(this.url, body, this.headers);
      this.outcome.slowestMs = Math.max(this.outcome.slowestMs, Date.now() - sentAt);
      const created = json.data?.createJobs?.data ?? (json.data?.createJob?.data ? [json.data.createJob.data] : null);
      if (created) this.outcome.acknowledged.push(...created.map((job) => uuidOf(job.id)));
      else this.#refused(`${response.status} ${json.errors?.[0]?.extensions?.code ?? 'no data'}`);
    } catch (error) {
      this.#refused((error as Error).name === 'TimeoutError' ? 'timeout' : 'no answer');
    }
  }

  #refused(code: string) {
    this.outcome.refused.set(code, (this.outcome.refused.get(code) ?? 0) + 1);
  }
}

/** Creates one system.noop through the API, asking again until it is accepted; answers its id. */
export async function createOneJob(url: string, queueName: string, headers: Record<string, string> = {}, limitMs = 60_000): Promise<string> {
  const from = Date.now();
  for (;;) {
    const answer = await post(url, { query: CREATE_JOB, variables: { input: { jobType: 'system.noop', queueName } } }, headers).catch(() => null);
    const id = answer?.json.data?.createJob?.data?.id;
    if (id) return uuidOf(id);
    if (Date.now() - from > limitMs) throw new Error(`the API did not accept a create for ${limitMs} ms`);
    await delay(100);
  }
}
