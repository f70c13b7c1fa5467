// Remote-worker tests' processes: the service (`jobwire serve` or `start`,
// which knows the remote job types only from the registry) and the example
// Python worker (examples/python-worker), each a real process whose JSON log
// lines the test can await; stopped when the test (or file) ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GraphQLTestClient, TEST_ENV } from './app.ts';
import { dispose } from './dispose.ts';
import { deferred } from './wait.ts';

export interface LogLine {
  event?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface ChildProcessHandle {
  process: ChildProcess;
  lines: LogLine[];
  exited: Promise<number | string>;
  /** Resolves with the first line (already seen or to come) that matches. */
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

function watch(child: ChildProcess): ChildProcessHandle {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters) if (waiter.match(line)) waiter.resolve(line);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  dispose(() => stop('SIGKILL'));
  return {
    process: child,
    lines,
    exited,
    async waitFor(what, match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return seen;
      const wait = deferred<LogLine>(what, timeoutMs);
      const waiter = { match, resolve: wait.resolve };
      waiters.add(waiter);
      void exited.then((how) => wait.reject(new Error(`process exited (${how}) while waiting for ${what}`)));
      try {
        return await wait.promise;
      } finally {
        waiters.delete(waiter);
      }
    },
    stop: (signal) => stop(signal),
  };
}

export interface RemoteWorkerApi extends ChildProcessHandle {
  client: GraphQLTestClient;
  /** The base URL the workers call (http://host:port). */
  baseUrl: string;
}

/** The service as deployed: `serve` (the API, no in-process worker) or `start` (the API and an in-process worker). */
export async function spawnRemoteWorkerApi(
  databaseUrl: string,
  env: Record<string, string> = {},
  command: 'serve' | 'start' = 'serve',
): Promise<RemoteWorkerApi> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1', ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const handle = watch(child);
  const started = await handle.waitFor('the API to start', (line) => /^GraphiQL: /.test(line.msg ?? ''), 60_000);
  const url = /^GraphiQL: (\S+)$/.exec(started.msg!)![1]!;
  return { ...handle, client: new GraphQLTestClient(url), baseUrl: new URL(url).origin };
}

export interface PythonWorkerOptions {
  baseUrl: string;
  token?: string;
  workerId?: string;
  concurrency?: number;
  leaseSeconds?: number;
  jobTypes?: string[];
  pollInterval?: number;
}

/**
 * Registers the example worker's job types (their JSON Schemas) the way a
 * deployment's first worker would: a Python worker starts, registers and
 * stops, leaving the types in the registry and no worker serving them.
 */
export async function registerPythonJobTypes(options: PythonWorkerOptions): Promise<void> {
  const worker = spawnPythonWorker({ workerId: 'py-register', ...options });
  await worker.waitFor('the Python worker to register', (line) => line.event === 'registered');
  const how = await worker.stop('SIGTERM');
  if (how !== 0) throw new Error(`the Python worker exited ${how}`);
}

/** The example Python worker (examples/python-worker/jobwire_worker.py) as a python3 subprocess. */
export function spawnPythonWorker(options: PythonWorkerOptions): ChildProcessHandle {
  const args = ['examples/python-worker/jobwire_worker.py', '--url', options.baseUrl];
  if (options.workerId) args.push('--worker-id', options.workerId);
  if (options.concurrency) args.push('--concurrency', String(options.concurrency));
  if (options.leaseSeconds) args.push('--lease-seconds', String(options.leaseSeconds));
  if (options.jobTypes) args.push('--job-types', options.jobTypes.join(','));
  args.push('--poll-interval', String(options.pollInterval ?? 0.1));
  const child = spawn('python3', args, {
    env: { ...process.env, JOBWIRE_TOKEN: options.token ?? '', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return watch(child);
}
