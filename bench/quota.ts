// Tenant quotas (docs/quotas.md): what the database's check on insert costs
// createJob's one-statement path. Single-job creates through the service's
// create function (src/jobs/create.ts), BENCH_CONCURRENCY callers at once, for
// one tenant, in alternating rounds of:
//   - as before quotas: job_quota_after_insert disabled and job_tenant_queued_idx dropped;
//   - trigger off: the index alone (every insert and requeue writes it);
//   - no quotas: no tenant_quota row at all (the trigger's first probe ends it);
//   - other tenants' quotas: 100 other tenants have rows, this one none;
//   - priority range: this tenant has minPriority/maxPriority (no lock);
//   - maxQueuedJobs: this tenant has maxQueuedJobs (BENCH_QUEUED_LIMIT, 1,000,000)
//     and BENCH_BACKLOG (1,000) queued jobs: the per-tenant lock and the count.
// The backlog is there in every round, so every round sees the same tables.
// Figures: creates/s (wall time: moved by whatever else the machine runs), and
// the database's CPU time a create (its backends' user + system time, from
// /proc: Postgres must run on this machine, as the embedded one does).
//   npm run bench:quota   (BENCH_JOBS per round and case, 2,000; BENCH_ROUNDS, 3;
//                          BENCH_CONCURRENCY, "1,8": one run per value)
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { loadConfig } from '../src/service-config.ts';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createJobsReporting } from '../src/jobs/create.ts';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { HandlerRegistry } from '../src/core/registry.ts';
import { setTenantQuota } from '../src/jobs/tenant-quotas.ts';
import { logger, median, report, round, startBenchServer } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? '1,8').split(',').map(Number);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000);
const QUEUED_LIMIT = Number(process.env.BENCH_QUEUED_LIMIT ?? 1_000_000);
/** Linux's clock ticks a second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS = 100;

const server = await startBenchServer();
try {
  const url = await server.database('bench_quota');
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn' });
  // Connections kept open for the whole run (no idle timeout), so each one's CPU time is counted from round to round.
  const pool = new pg.Pool({ connectionString: url, max: Math.max(...CONCURRENCIES) + 2, idleTimeoutMillis: 0 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  const registry = new HandlerRegistry().register({
    jobType: 'bench.noop',
    description: 'A benchmark job type (never run).',
    payload: z.object({}),
    async handle() {
      return { success: true };
    },
  });
  const deps = { pool, registry, config };
  const tenantId = LOCAL_PRINCIPAL.tenantId;
  // The backlog: queued jobs of the tenant, kept through every round.
  await createJobsReporting({ ...deps, config: { ...config, CREATE_JOBS_MAX: Math.max(BACKLOG, 1) } }, LOCAL_PRINCIPAL, Array.from({ length: BACKLOG }, () => ({ jobType: 'bench.noop', queueName: 'backlog' })));

  const BASELINE = 'as before quotas (trigger off, no queued index)';
  const setup: Record<string, () => Promise<unknown>> = {
    [BASELINE]: async () => {
      await pool.query('alter table job disable trigger job_quota_after_insert');
      await pool.query('drop index job_tenant_queued_idx');
    },
    'trigger off (the index alone)': () => pool.query('alter table job disable trigger job_quota_after_insert'),
    'no quotas': async () => undefined,
    "100 other tenants' quotas": () =>
      pool.query(`insert into tenant_quota (tenant_id, max_queued_jobs, min_priority, max_priority) select 'other-' || i, 10, 0, 10 from generate_series(1, 100) i`),
    'priority range': () => setTenantQuota(pool, tenantId, { minPriority: -10, maxPriority: 10 }),
    [`maxQueuedJobs (${BACKLOG} queued)`]: () => setTenantQuota(pool, tenantId, { maxQueuedJobs: QUEUED_LIMIT }),
  };
  const reset = async () => {
    await pool.query('alter table job enable trigger job_quota_after_insert');
    await pool.query(`create index if not exists job_tenant_queued_idx on job (tenant_id) where status in ('PENDING', 'SCHEDULED', 'RETRYING')`);
    await pool.query('delete from tenant_quota');
    await pool.query(`delete from graphile_worker._private_jobs where id in (select queue_entry_id from job where queue_name = 'bench')`);
    await pool.query(`delete from job where queue_name = 'bench'`);
  };

  /**
   * CPU time (ms) each backend of this database has used, by pid, from
   * /proc (Postgres runs on this machine): unlike wall time, it hardly moves
   * with the load other processes put on the machine.
   */
  async function backendCpu(): Promise<Map<number, number>> {
    const { rows } = await pool.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()');
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
      } catch {
        // ended meanwhile
      }
    }
    return cpu;
  }

  /** JOBS single-job creates by `concurrency` callers; answers the seconds taken and the database's CPU ms. */
  async function creates(concurrency: number): Promise<{ seconds: number; databaseCpuMs: number }> {
    let next = 0;
    const cpuBefore = await backendCpu();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < JOBS) await createJobsReporting(deps, LOCAL_PRINCIPAL, [{ jobType: 'bench.noop', queueName: 'bench' }]);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    let databaseCpuMs = 0;
    for (const [pid, ms] of await backendCpu()) databaseCpuMs += ms - (cpuBefore.get(pid) ?? 0);
    return { seconds, databaseCpuMs };
  }

  const rows: Array<Record<string, unknown>> = [];
  const headline: Array<{ figure: string; value: string }> = [];
  for (const concurrency of CONCURRENCIES) {
    const seconds = new Map<string, number[]>(Object.keys(setup).map((name) => [name, []]));
    const cpuMs = new Map<string, number[]>(Object.keys(setup).map((name) => [name, []]));
    for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
      // Each round in another order, so that no case always goes first.
      const names = Object.keys(setup);
      for (const name of names.map((_, index) => names[(index + roundIndex) % names.length]!)) {
        await reset();
        await setup[name]!();
        const measured = await creates(concurrency);
        seconds.get(name)!.push(measured.seconds);
        cpuMs.get(name)!.push(measured.databaseCpuMs);
        const { rows: counted } = await pool.query<{ n: number }>(`select count(*)::int as n from job where queue_name = 'bench'`);
        if (counted[0]!.n !== JOBS) throw new Error(`${name}: ${counted[0]!.n} jobs made, not ${JOBS}`);
      }
    }
    await reset();
    const baseline = JOBS / median(seconds.get(BASELINE)!);
    const baselineCpu = median(cpuMs.get(BASELINE)!) / JOBS;
    for (const [name, times] of seconds) {
      const rate = JOBS / median(times);
      const cpu = median(cpuMs.get(name)!) / JOBS;
      rows.push({
        concurrency,
        case: name,
        jobs: JOBS,
        'creates/s': Math.round(rate),
        'vs before (creates/s)': round(rate / baseline, 3),
        'database CPU ms a create': round(cpu, 3),
        'vs before (CPU)': round(cpu / baselineCpu, 3),
      });
      if (name !== BASELINE) headline.push({ figure: `${name}, ${concurrency} at once: database CPU a create vs before quotas`, value: `${round(cpu / baselineCpu, 2)}×` });
    }
  }
  await report('quota', rows, { rounds: ROUNDS, backlog: BACKLOG, headline });
  await pool.end();
} finally {
  await server.stop();
}
