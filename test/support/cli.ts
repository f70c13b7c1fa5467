// Runs the real CLI (`node --import tsx src/main.ts ...`) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { deferred } from './wait.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const CLI = [process.execPath, '--import', 'tsx', 'src/main.ts'] as const;

/** Runs one CLI command to its end. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    env: { ...process.env, CI: '1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
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
