// Runs the real CLI (`node --import tsx src/main.ts <command>`) as a child
// process and lets tests await what it logs, prints and how it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TEST_ENV } from './app.ts';
import { deferred } from './wait.ts';

export const CLI = [process.execPath, '--import', 'tsx', 'src/main.ts'] as const;

export interface CliProcess {
  process: ChildProcess;
  /** JSON log lines it printed on stdout. */
  logs: Array<Record<string, unknown>>;
  /** Everything it printed on stderr. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves with the first log line `match` accepts; fails if the process exits first. */
  waitForLog(what: string, match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then resolves with how it exited. */
  stop(): Promise<number | string>;
}

/** The log line each command prints once it is up. */
export const READY: Record<'serve' | 'work' | 'start', (entry: Record<string, unknown>) => boolean> = {
  serve: (entry) => typeof entry.msg === 'string' && entry.msg.startsWith('GraphiQL: '),
  work: (entry) => entry.msg === 'worker started',
  start: (entry) => typeof entry.msg === 'string' && entry.msg.startsWith('GraphiQL: '),
};

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const waiters = new Set<{ match: (entry: Record<string, unknown>) => boolean; resolve: (entry: Record<string, unknown>) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not a log line
    }
    logs.push(entry);
    for (const waiter of waiters) {
      if (waiter.match(entry)) {
        waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  });
  // 'close', not 'exit': by then everything it printed has been read.
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(signal ?? code ?? 0)));
  return {
    process: child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(what, match, timeoutMs = 60_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      const found = deferred<Record<string, unknown>>(`${what} (stderr: ${stderr})`, timeoutMs);
      waiters.add({ match, resolve: found.resolve });
      void exited.then((how) => found.reject(new Error(`exited (${how}) before ${what}; stderr: ${stderr}`)));
      return found.promise;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to its end; `stdin`: what it reads there (default: nothing, as from /dev/null). */
export function runCli(args: readonly string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    env: { ...process.env, CI: '1', LOG_LEVEL: 'warn', ...env },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningCli {
  process: ChildProcess;
  /** Lines printed so far on stdout. */
  lines: string[];
  /** Resolves with the first stdout line that matches. */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** Starts a long-running CLI command (serve, jobs watch) and follows its output. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    env: { ...process.env, CI: '1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    lines,
    exited,
    waitForLine(what, match, timeoutMs = 30_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      const done = deferred<string>(`${what} (printed so far: ${JSON.stringify(lines)})`, timeoutMs);
      waiters.push({ match, resolve: done.resolve });
      void exited.then((code) => done.reject(new Error(`the command exited (${code}) before printing ${what}; printed: ${JSON.stringify(lines)}`)));
      return done.promise;
    },
  };
}
