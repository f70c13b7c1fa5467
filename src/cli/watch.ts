// `jobs watch ID`: a job's status and progress, live, until it finishes. The
// job is read again on each notification about jobs (a hint, as for the API's
// subscriptions) and every second regardless, in case one was missed.
import { SingleBar } from 'cli-progress';
import { Listener } from '../db/listener.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { EVENT_CHANNEL, JOB_CHANNEL } from '../jobs/live.ts';
import { isTerminal, type JobStatus } from '../job-state/statuses.ts';
import { createLogger } from '../logger.ts';
import { CliError } from './errors.ts';

const SAFETY_READ_MS = 1000;

export async function watchJob(prisma: PrismaClient, databaseUrl: string, jobId: string): Promise<JobStatus> {
  const read = () =>
    prisma.job.findUnique({ where: { id: jobId }, select: { status: true, progress: true, progressMessage: true, errorMessage: true, jobType: true } });
  const first = await read();
  if (!first) throw new CliError(`no job with id ${jobId}`);

  // A bar in a terminal; elsewhere (a pipe, a log file) one line per change.
  const tty = Boolean(process.stdout.isTTY);
  const bar = tty
    ? new SingleBar({ format: `${first.jobType} [{bar}] {percentage}% | {status} {message}`, hideCursor: true, clearOnComplete: false })
    : null;
  let last = '';
  const show = (job: NonNullable<typeof first>) => {
    const message = job.progressMessage ?? '';
    if (bar) bar.update(Math.round(job.progress), { status: job.status, message });
    const line = `${job.status} ${Math.round(job.progress)}%${message ? ` ${message}` : ''}`;
    if (!bar && line !== last) console.log(line);
    last = line;
  };
  bar?.start(100, Math.round(first.progress), { status: first.status, message: first.progressMessage ?? '' });
  show(first);
  if (isTerminal(first.status)) return finish(first);

  const listener = new Listener(databaseUrl, createLogger('silent'));
  await listener.listen(EVENT_CHANNEL);
  await listener.listen(JOB_CHANNEL);
  try {
    return await new Promise<JobStatus>((resolve, reject) => {
      let reading = false;
      let again = false;
      const refresh = () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        read()
          .then((job) => {
            if (!job) throw new CliError(`job ${jobId} was deleted`);
            show(job);
            if (isTerminal(job.status)) resolve(finish(job));
          })
          .catch(reject)
          .finally(() => {
            reading = false;
            if (again) {
              again = false;
              refresh();
            }
          });
      };
      listener.on('notification', (channel, payload) => {
        if (channel === EVENT_CHANNEL || payload === jobId) refresh();
      });
      listener.on('reconnected', refresh);
      listener.start().then(refresh, reject);
      setInterval(refresh, SAFETY_READ_MS).unref();
    });
  } finally {
    await listener.stop();
  }

  function finish(job: NonNullable<typeof first>): JobStatus {
    bar?.stop();
    console.log(`job ${jobId} ${job.status}${job.errorMessage ? `: ${job.errorMessage}` : ''}`);
    return job.status;
  }
}
