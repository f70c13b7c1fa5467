// This app's worker process: `DATABASE_URL=... npm run worker`. It runs this
// app's job types only, against the database of a running jobwire service.
import { runWorker } from 'jobwire';
import { jobTypes } from './job-types.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL must name the database of the jobwire service');
  process.exit(2);
}
const worker = await runWorker({
  databaseUrl,
  jobTypes,
  concurrency: Number(process.env.CONCURRENCY ?? 4),
  // WORKER_QUEUES=images,default: only jobs of those queues (unset: every queue of these types).
  ...(process.env.WORKER_QUEUES ? { queues: process.env.WORKER_QUEUES.split(',') } : {}),
  settings: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
});
// runWorker resolves once the worker registered its job types: the API now checks their payloads.
console.log(`worker ${worker.workerId} serves ${jobTypes.map((type) => type.jobType).join(', ')}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    worker.stop().then(() => process.exit(0), () => process.exit(1));
  });
}
