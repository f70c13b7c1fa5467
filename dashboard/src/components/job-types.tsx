// The Job types view: every job type the API hosts or a worker registered
// (src/registry/), with its defaults and payload schema, and the workers
// serving it, live or not. A type no live worker serves is flagged: its jobs
// wait with NO_WORKER.
import { timeAgo } from '../format.ts';
import { useQuery } from '../hooks.ts';
import { JobTypesView, type JobTypeEntry } from '../operations.ts';
import { Card, ErrorNote, JsonView } from './common.tsx';

export function JobTypes() {
  const types = useQuery<{ jobTypes: JobTypeEntry[] }>(JobTypesView, {});
  return (
    <Card
      title="Job types"
      class="job-types"
      actions={
        <button type="button" class="button ghost small" onClick={types.reload}>
          Refresh
        </button>
      }
    >
      <ErrorNote message={types.error} />
      {!types.data ? (
        <p class="muted">Loading…</p>
      ) : (
        <table class="table" aria-label="Job types">
          <thead>
            <tr>
              <th>Job type</th>
              <th>Kind</th>
              <th>Defaults</th>
              <th>Workers</th>
              <th>Payload schema</th>
            </tr>
          </thead>
          <tbody>
            {types.data.jobTypes.map((type) => (
              <tr key={type.jobType} data-job-type={type.jobType} data-live-workers={type.liveWorkerCount}>
                <td>
                  <strong>{type.jobType}</strong>
                  <div class="muted">{type.description}</div>
                  {type.hosted && <span class="badge">hosted by this API</span>}
                </td>
                <td>{type.kind}</td>
                <td>
                  queue {type.defaults.queueName} · {type.defaults.maxRetries} retries
                  {type.defaults.timeoutMs !== null ? ` · timeout ${type.defaults.timeoutMs} ms` : ''}
                </td>
                <td>
                  {type.liveWorkerCount === 0 && (
                    <span class="badge status-failed" data-no-worker>
                      no live worker: its jobs wait (NO_WORKER)
                    </span>
                  )}
                  <ul class="workers" aria-label={`Workers serving ${type.jobType}`}>
                    {type.workers.map((worker) => (
                      <li data-worker={worker.workerId} data-live={worker.live}>
                        <span class={`badge ${worker.live ? 'status-completed' : 'status-cancelled'}`}>{worker.live ? 'live' : 'silent'}</span>{' '}
                        {worker.hostname} (pid {worker.pid}){worker.queueNames ? ` · queues ${worker.queueNames.join(', ')}` : ''} · seen{' '}
                        {timeAgo(worker.lastSeenAt)}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <details>
                    <summary>schema</summary>
                    <JsonView value={type.payloadSchema} />
                    {type.resultSchema !== null && (
                      <>
                        <p class="muted">result</p>
                        <JsonView value={type.resultSchema} />
                      </>
                    )}
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
