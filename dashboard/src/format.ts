import type { JobStatus, JobSummary } from './operations.ts';

export const STATUS_LABEL: Record<JobStatus, string> = {
  PENDING: 'Pending',
  SCHEDULED: 'Scheduled',
  RUNNING: 'Running',
  RETRYING: 'Retrying',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  DEAD_LETTER: 'Dead letter',
  CANCELLED: 'Cancelled',
};

/** The job's UUID: the API's ids are global IDs (base64 of "Type:uuid"), UUIDs read better and are accepted too. */
export function uuidOf(id: string): string {
  try {
    const decoded = atob(id);
    const uuid = decoded.slice(decoded.indexOf(':') + 1);
    if (/^[0-9a-f-]{36}$/i.test(uuid)) return uuid;
  } catch {
    // already a UUID
  }
  return id;
}

export const shortId = (id: string) => uuidOf(id).slice(0, 8);

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export function timeAgo(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (ms < 0) return `in ${formatDuration(-ms)}`;
  if (ms < 5000) return 'just now';
  return `${formatDuration(ms).replace(/ \d+ s$/, '')} ago`;
}

export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

export function finishedAt(job: JobSummary): string | null {
  return job.completedAt ?? job.failedAt ?? job.cancelledAt;
}

/** Run time so far (running) or in total (finished); null before it starts. */
export function runTime(job: JobSummary, now = Date.now()): number | null {
  if (!job.startedAt) return null;
  const end = finishedAt(job);
  return (end ? Date.parse(end) : now) - Date.parse(job.startedAt);
}

export const formatCount = (n: number) => n.toLocaleString('en-US');

