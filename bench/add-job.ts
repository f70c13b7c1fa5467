// add_job: jobs/s of N jobs added in one transaction through the SQL function
// (one statement for all, and the addJob helper's one call per job, as an app
// enqueues alongside its own rows), against createJobs with the same N jobs in
// its one transaction. Creating only: nothing runs them.
//   npm run bench:add-job   (BENCH_JOBS, default 10000; BENCH_ROUNDS, default 3)
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { loadConfig } from '../src/service-config.ts';
import { createPool } from '../src/db/pool.ts';
import { addJob } from '../src/enqueue/add-job.ts';
import { createJobs, type CreateJobInput } from '../src/jobs/create.ts';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { HandlerRegistry } from '../src/core/registry.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { logger, median, report, round, startBenchServer } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// A payload with a few checked properties, so add_job's JSON Schema check and createJob's zod parse both work.
const orderPayload = z.object({ orderId: z.number().int(), amount: z.number().positive(), currency: z.enum(['EUR', 'USD']) });
const orderHandler: JobHandler<z.infer<typeof orderPayload>> = {
  jobType: 'bench.order',
  description: 'A benchmark job type (never run).',
  payload: orderPayload,
  async handle() {
    return { success: true };
  },
};
const payloadOf = (index: number) => ({ orderId: index, amount: 10.5, currency: 'EUR' as const });

const server = await startBenchServer();
try {
  const url = await server.database('bench_add_job');
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn', CREATE_JOBS_MAX: String(Math.max(JOBS, 1)) });
  const pool = createPool(url, 4, logger);
  const registry = new HandlerRegistry().register(orderHandler);
  // What a worker serving the type registers (src/registry/): its payload's JSON Schema.
  await pool.query(
    `insert into job_type (name, description, payload_schema) values ($1, $2, $3)
     on conflict (name) do update set payload_schema = excluded.payload_schema`,
    [orderHandler.jobType, orderHandler.description, JSON.stringify(z.toJSONSchema(orderPayload, { io: 'input' }))],
  );
  const clear = () =>
    pool.query(`truncate job, job_event, job_step, job_idempotency_key, job_dependency cascade; delete from graphile_worker._private_jobs`);

  const ways: Record<string, () => Promise<number>> = {
    'add_job, one statement': async () => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const { rowCount } = await client.query(
          `select add_job('bench.order', jsonb_build_object('orderId', i, 'amount', 10.5, 'currency', 'EUR')) from generate_series(1, $1::int) as i`,
          [JOBS],
        );
        await client.query('commit');
        return rowCount ?? 0;
      } finally {
        client.release();
      }
    },
    'addJob helper, a call per job': async () => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (let index = 0; index < JOBS; index++) await addJob(client, 'bench.order', payloadOf(index));
        await client.query('commit');
        return JOBS;
      } finally {
        client.release();
      }
    },
    createJobs: async () => {
      const inputs: CreateJobInput[] = Array.from({ length: JOBS }, (_, index) => ({ jobType: 'bench.order', payload: payloadOf(index) }));
      return (await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, inputs)).length;
    },
  };

  const seconds = new Map<string, number[]>(Object.keys(ways).map((name) => [name, []]));
  for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
    // Each round in another order, so that no way always goes first.
    const names = Object.keys(ways);
    const order = names.map((_, index) => names[(index + roundIndex) % names.length]!);
    for (const name of order) {
      await clear();
      const started = performance.now();
      const created = await ways[name]!();
      const elapsed = (performance.now() - started) / 1000;
      if (created !== JOBS) throw new Error(`${name} created ${created} jobs, not ${JOBS}`);
      const { rows } = await pool.query<{ jobs: number; entries: number; events: number }>(
        `select (select count(*) from job)::int as jobs, (select count(*) from graphile_worker._private_jobs)::int as entries,
                (select count(*) from job_event)::int as events`,
      );
      if (rows[0]!.jobs !== JOBS || rows[0]!.entries !== JOBS || rows[0]!.events !== JOBS) {
        throw new Error(`${name} wrote ${JSON.stringify(rows[0])}, not ${JOBS} of each`);
      }
      seconds.get(name)!.push(elapsed);
    }
  }
  const createJobsRate = JOBS / median(seconds.get('createJobs')!);
  await report(
    'add-job',
    [...seconds].map(([name, times]) => ({
      way: name,
      jobs: JOBS,
      'median s': round(median(times), 2),
      'jobs/s': Math.round(JOBS / median(times)),
      'vs createJobs': round(JOBS / median(times) / createJobsRate, 2),
    })),
    { rounds: ROUNDS },
  );
  await pool.end();
} finally {
  await server.stop();
}
