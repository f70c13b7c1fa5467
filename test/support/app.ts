// Starts the service (or parts of it) against a test database, in-process or
// as a child process, with typed GraphQL over HTTP and graphql-ws.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { startApp, type App, type AppOptions, type Roles } from '../../src/app.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createLogger } from '../../src/logger.ts';
import type { HandlerRegistry } from '../../src/core/registry.ts';
import { dispose, once } from './dispose.ts';
import { deferred } from './wait.ts';

/** Settings that make tests quick: short retry delays, fast dead-worker detection. */
export const TEST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  JOB_RETRY_BASE_DELAY_MS: '20',
  JOB_RETRY_MAX_DELAY_MS: '200',
  JOB_PROGRESS_THROTTLE_MS: '0',
  WORKER_POLL_INTERVAL_MS: '200',
  WORKER_HEARTBEAT_INTERVAL_MS: '250',
  WORKER_DEAD_AFTER_MS: '2000',
};

type Document<Result, Variables> = DocumentTypeDecoration<Result, Variables> & { toString(): string };

export class GraphQLTestClient {
  #ws: Client | null = null;

  /** With a token (API key or JWT), requests send `Authorization: Bearer` and websockets put it in connection_init. */
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  /** The same server as another caller. */
  as(token: string | undefined): GraphQLTestClient {
    return new GraphQLTestClient(this.url, token);
  }

  /** The headers that carry this client's token (none without one). */
  authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** Runs a query or mutation over HTTP; answers the status and body as they came (errors included). */
  async send<Result, Variables>(
    document: Document<Result, Variables> | string,
    variables?: Variables,
  ): Promise<{ status: number; headers: Headers; body: { data?: Result | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } }> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...this.authHeaders(),
      },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as never };
  }

  /** Runs a query or mutation over HTTP; GraphQL errors fail the test. */
  async request<Result, Variables>(document: Document<Result, Variables>, variables?: Variables): Promise<Result> {
    const { body } = await this.send(document, variables);
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data!;
  }

  /** A live subscription over graphql-ws: collects what arrives and lets tests await it; closed when the test (or file) ends. */
  subscribe<Result, Variables>(document: Document<Result, Variables>, variables?: Variables): Subscription<Result> {
    this.#ws ??= createClient({
      url: this.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: this.token ? { authorization: `Bearer ${this.token}` } : undefined,
    });
    const subscription = new Subscription<Result>(this.#ws, document.toString(), variables as Record<string, unknown> | undefined);
    dispose(() => subscription.close());
    return subscription;
  }

  async close() {
    await this.#ws?.dispose();
  }
}

export class Subscription<Result> {
  readonly received: Result[] = [];
  #waiters: Array<{ until: (received: Result[]) => boolean; resolve: () => void }> = [];
  #error: unknown = null;
  #closed = false;
  readonly #unsubscribe: () => void;

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    this.#unsubscribe = client.subscribe<Result>(
      { query, variables },
      {
        next: (message) => {
          if (message.errors?.length) this.#error = new Error(JSON.stringify(message.errors));
          else this.received.push(message.data as Result);
          this.#check();
        },
        error: (error) => {
          this.#error = error;
          this.#check();
        },
        complete: () => undefined,
      },
    );
  }

  #check() {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.#error || waiter.until(this.received)) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves once `until` holds for what has arrived; fails with `what` after a timeout. */
  async waitFor(what: string, until: (received: Result[]) => boolean, timeoutMs = 20_000): Promise<Result[]> {
    const done = deferred<void>(`${what} (received so far: ${JSON.stringify(this.received)})`, timeoutMs);
    this.#waiters.push({ until, resolve: () => done.resolve() });
    this.#check();
    await done.promise;
    if (this.#error) throw this.#error instanceof Error ? this.#error : new Error(JSON.stringify(this.#error));
    return this.received;
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
  }
}

export interface TestApp {
  app: App;
  client: GraphQLTestClient;
  stop(): Promise<void>;
}

/** Starts the service in-process; it stops when the test (or, from a beforeAll, the file) ends. */
export async function startTestApp(
  databaseUrl: string,
  options: {
    roles?: Roles;
    registry?: HandlerRegistry;
    env?: Record<string, string>;
    wrapPrisma?: AppOptions['wrapPrisma'];
    /** The job kinds served (default: every built-in one). */
    kinds?: AppOptions['kinds'];
    /** Every log line (JSON) goes here instead of stdout. */
    logs?: string[];
  } = {},
): Promise<TestApp> {
  const config = loadConfig({ ...TEST_ENV, ...options.env, DATABASE_URL: databaseUrl }, options.kinds);
  const logs = options.logs;
  const logger = createLogger(config.LOG_LEVEL, logs && { write: (line: string) => void logs.push(line) });
  const app = await startApp(config, logger, options.roles ?? { api: true, worker: true }, {
    registry: options.registry,
    wrapPrisma: options.wrapPrisma,
    kinds: options.kinds,
  });
  const client = new GraphQLTestClient(app.api?.url ?? '');
  const stop = once(async () => {
    await client.close();
    await app.stop();
  });
  dispose(stop);
  return { app, client, stop };
}

export interface ChildWorker {
  workerId: string;
  process: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string>;
  /** Log lines it printed (JSON). */
  logs: Array<Record<string, unknown>>;
}

/**
 * Runs `jobwire work` in its own process (the real CLI), resolved once it runs
 * jobs. When the test (or file) ends, a worker still running gets SIGTERM and is awaited.
 */
export async function spawnWorker(
  databaseUrl: string,
  env: Record<string, string> = {},
  /** Another entry point than the CLI's `work` (e.g. test/support/worker-process.ts). */
  script: string[] = ['src/main.ts', 'work'],
): Promise<ChildWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1', ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const started = deferred<string>('a child worker to start', 30_000);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'worker started') started.resolve(String(entry.workerId));
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  void exited.then((how) => started.reject(new Error(`child worker exited (${how}) before it started`)));
  dispose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return { workerId: await started.promise, process: child, exited, logs };
}

export interface ChildApi {
  url: string;
  process: ChildProcess;
  exited: Promise<number | string>;
  logs: Array<Record<string, unknown>>;
}

/** Runs `jobwire serve` in its own process (the real CLI), resolved once it listens. */
export async function spawnApi(databaseUrl: string, env: Record<string, string> = {}): Promise<ChildApi> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1', ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const started = deferred<string>('a child API to listen', 30_000);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      const url = /^GraphiQL: (\S+)/.exec(String(entry.msg))?.[1];
      if (url) started.resolve(url);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  void exited.then((how) => started.reject(new Error(`child API exited (${how}) before it listened`)));
  dispose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return { url: await started.promise, process: child, exited, logs };
}
