// Runs `jobwire serve` (API only) in its own process, for tests where two API
// processes race on one database. Stopped when the test (or file) ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GraphQLTestClient, TEST_ENV } from './app.ts';
import { dispose, once } from './dispose.ts';
import { deferred } from './wait.ts';

export interface ChildApi {
  client: GraphQLTestClient;
  process: ChildProcess;
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

export async function spawnApi(databaseUrl: string, env: Record<string, string> = {}): Promise<ChildApi> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1', ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = deferred<string>('a child API process to start', 30_000);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string };
      const url = /^GraphiQL: (\S+)$/.exec(entry.msg ?? '')?.[1];
      if (url) started.resolve(url);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  void exited.then((how) => started.reject(new Error(`child API exited (${how}) before it started`)));
  const stop = once(async () => {
    await client?.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  dispose(stop);
  let client: GraphQLTestClient | undefined;
  client = new GraphQLTestClient(await started.promise);
  return { client, process: child, exited, stop };
}
