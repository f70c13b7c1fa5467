import { useEffect } from 'preact/hooks';
import { formatCount, STATUS_LABEL } from '../format.ts';
import { useQuery } from '../hooks.ts';
import { JOB_STATUSES, Throughput, type JobStatus, type QueueStats, type ThroughputMinute } from '../operations.ts';
import { Card } from './common.tsx';

export const COUNT_FIELD: Record<JobStatus, keyof Omit<QueueStats, 'queueName'>> = {
  PENDING: 'pendingCount',
  SCHEDULED: 'scheduledCount',
  RUNNING: 'runningCount',
  RETRYING: 'retryingCount',
  COMPLETED: 'completedCount',
  FAILED: 'failedCount',
  DEAD_LETTER: 'deadLetterCount',
  CANCELLED: 'cancelledCount',
};

export function totals(queues: QueueStats[]): Record<JobStatus, number> {
  const sums = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
  for (const queue of queues) for (const status of JOB_STATUSES) sums[status] += queue[COUNT_FIELD[status]];
  return sums;
}

/** One tile per status, summed over queues; a click filters the job list by it. */
export function StatusTiles({ queues, selected, onSelect }: { queues: QueueStats[] | null; selected: JobStatus[]; onSelect: (status: JobStatus) => void }) {
  const sums = queues ? totals(queues) : null;
  return (
    <div class="tiles" aria-label="Jobs by status">
      {JOB_STATUSES.map((status) => (
        <button
          type="button"
          class={`tile status-${status.toLowerCase()} ${selected.includes(status) ? 'selected' : ''}`}
          data-tile={status}
          aria-pressed={selected.includes(status)}
          onClick={() => onSelect(status)}
        >
          <span class="tile-count">{sums ? formatCount(sums[status]) : '…'}</span>
          <span class="tile-label">{STATUS_LABEL[status]}</span>
        </button>
      ))}
    </div>
  );
}

const SHORT_LABEL: Record<JobStatus, string> = {
  PENDING: 'Pending',
  SCHEDULED: 'Sched.',
  RUNNING: 'Running',
  RETRYING: 'Retrying',
  COMPLETED: 'Done',
  FAILED: 'Failed',
  DEAD_LETTER: 'Dead',
  CANCELLED: 'Cancel.',
};

const QUEUE_COLUMNS: JobStatus[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING', 'COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'];

export function QueueTable({ queues, selected, onSelect }: { queues: QueueStats[] | null; selected: string[]; onSelect: (queue: string) => void }) {
  return (
    <Card title="Queues" class="queues">
      {!queues ? (
        <p class="muted">Loading…</p>
      ) : queues.length === 0 ? (
        <p class="muted">No jobs yet. Create one with the createJob mutation at /graphql.</p>
      ) : (
        <table class="table compact" aria-label="Queues">
          <thead>
            <tr>
              <th>Queue</th>
              {QUEUE_COLUMNS.map((status) => (
                <th class={`num status-text-${status.toLowerCase()}`} title={STATUS_LABEL[status]}>
                  {SHORT_LABEL[status]}
                </th>
              ))}
              <th>Share</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((queue) => {
              const total = QUEUE_COLUMNS.reduce((sum, status) => sum + queue[COUNT_FIELD[status]], 0);
              return (
                <tr class={selected.includes(queue.queueName) ? 'selected' : ''} data-queue={queue.queueName}>
                  <td>
                    <button type="button" class="link" onClick={() => onSelect(queue.queueName)}>
                      {queue.queueName}
                    </button>
                  </td>
                  {QUEUE_COLUMNS.map((status) => {
                    const count = queue[COUNT_FIELD[status]];
                    return (
                      <td class={`num ${count ? `status-text-${status.toLowerCase()}` : 'zero'}`} data-count={status}>
                        {formatCount(count)}
                      </td>
                    );
                  })}
                  <td class="share">
                    <div class="stacked" title={`${formatCount(total)} jobs`}>
                      {QUEUE_COLUMNS.map((status) =>
                        queue[COUNT_FIELD[status]] ? (
                          <span class={`seg status-${status.toLowerCase()}`} style={{ flexGrow: queue[COUNT_FIELD[status]] }} />
                        ) : null,
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}

const CHART = { width: 640, height: 180, left: 36, right: 8, top: 10, bottom: 22 };

/** The axis' top: four equal steps of a round, whole size (1, 2, 2.5, 5 times a power of ten). */
function niceMax(value: number): number {
  const rough = Math.max(1, value / 4);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((size) => size >= rough && Number.isInteger(size)) ?? 10 * magnitude;
  return step * 4;
}

/** Jobs completed and failed per minute, last hour: stacked SVG bars, reloaded as jobs finish. */
export function ThroughputChart({ changeCount }: { changeCount: number }) {
  const { data, error, reload } = useQuery<{ jobThroughput: ThroughputMinute[] }>(Throughput, { minutes: 60 });
  // Reload as jobs change (queuesUpdated ticks, throttled by the caller) and each minute for the moving window.
  useEffect(() => {
    if (changeCount > 0) reload();
  }, [changeCount]);
  useEffect(() => {
    const timer = setInterval(reload, 30_000);
    return () => clearInterval(timer);
  }, [reload]);
  const minutes = data?.jobThroughput ?? [];
  const completed = minutes.reduce((sum, m) => sum + m.completedCount, 0);
  const failed = minutes.reduce((sum, m) => sum + m.failedCount, 0);
  const max = niceMax(Math.max(0, ...minutes.map((m) => m.completedCount + m.failedCount)));
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = minutes.length ? plotWidth / minutes.length : 0;
  const y = (value: number) => CHART.top + plotHeight - (value / max) * plotHeight;
  return (
    <Card
      title="Throughput · last hour"
      class="chart-card"
      actions={
        <div class="legend">
          <span class="legend-item completed" data-total="completed">
            <i /> {formatCount(completed)} completed
          </span>
          <span class="legend-item failed" data-total="failed">
            <i /> {formatCount(failed)} failed
          </span>
        </div>
      }
    >
      {error && <p class="error-note">{error}</p>}
      <svg class="chart" viewBox={`0 0 ${CHART.width} ${CHART.height}`} role="img" aria-label={`Jobs per minute: ${completed} completed, ${failed} failed in the last hour`}>
        {[0, 0.25, 0.5, 0.75, 1].map((fraction) => (
          <g>
            <line class="grid" x1={CHART.left} x2={CHART.width - CHART.right} y1={y(max * fraction)} y2={y(max * fraction)} />
            <text class="axis" x={CHART.left - 6} y={y(max * fraction) + 4} text-anchor="end">
              {formatCount(Math.round(max * fraction))}
            </text>
          </g>
        ))}
        {minutes.map((minute, index) => {
          const x = CHART.left + index * slot + slot * 0.15;
          const width = Math.max(1, slot * 0.7);
          const label = new Date(minute.minute).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
          return (
            <g>
              <title>{`${label}: ${minute.completedCount} completed, ${minute.failedCount} failed`}</title>
              {minute.completedCount > 0 && (
                <rect class="bar completed" x={x} width={width} y={y(minute.completedCount)} height={y(0) - y(minute.completedCount)} rx="1" />
              )}
              {minute.failedCount > 0 && (
                <rect
                  class="bar failed"
                  x={x}
                  width={width}
                  y={y(minute.completedCount + minute.failedCount)}
                  height={y(minute.completedCount) - y(minute.completedCount + minute.failedCount)}
                  rx="1"
                />
              )}
              {index % 10 === 0 || index === minutes.length - 1 ? (
                <text class="axis" x={x + width / 2} y={CHART.height - 6} text-anchor="middle">
                  {index === minutes.length - 1 ? 'now' : label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </Card>
  );
}
