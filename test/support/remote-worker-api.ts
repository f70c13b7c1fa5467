// An API process (`serve`: no in-process worker) that knows the payloads of
// the example Python worker's job types, so that the API creates their jobs
// (until the job-type registry validates remote workers' registered types,
// issue 25 point 2). Nothing here runs them: the Python workers do.
import { z } from 'zod';
import { loadConfig } from '../../src/service-config.ts';
import { startApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import type { JobHandler } from '../../src/core/handler.ts';

const remote = <P>(jobType: string, payload: z.ZodType<P>): JobHandler<P> => ({
  jobType,
  description: `${jobType}, run by the example Python worker (examples/python-worker)`,
  payload,
  async handle() {
    throw new Error(`${jobType} runs on remote workers only`);
  },
});

export function createRemoteTypesRegistry(): HandlerRegistry {
  return new HandlerRegistry()
    .register(remote('text.word_count', z.object({ text: z.string() })))
    .register(
      remote(
        'demo.slow_task',
        z.object({ seconds: z.number().min(0).max(600), failAttempts: z.number().int().min(0).optional(), fatal: z.boolean().optional() }),
      ),
    );
}

if (process.argv[1]?.endsWith('remote-worker-api.ts')) {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const app = await startApp(config, logger, { api: true, worker: false }, { registry: createRemoteTypesRegistry() });
  process.stdout.write(`${JSON.stringify({ msg: `GraphiQL: ${app.api!.url}` })}\n`);
  const stop = () => void app.stop().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
