// A stand-in worker for tests that write jobs without running a worker: it
// serves these job types, so new jobs do not wait with NO_WORKER.
import type pg from 'pg';
import { registerJobTypes, registrationOf } from '../../src/registry/registry.ts';
import type { HandlerRegistry } from '../../src/worker/registry.ts';

export async function serveJobTypes(pool: pg.Pool, registry: HandlerRegistry, workerId = 'test-serving-worker'): Promise<void> {
  await pool.query(`insert into worker (id, hostname, pid) values ($1, 'test', 0) on conflict (id) do nothing`, [workerId]);
  await registerJobTypes(pool, workerId, registry.jobTypes.map((jobType) => registrationOf(registry.get(jobType)!)));
}
