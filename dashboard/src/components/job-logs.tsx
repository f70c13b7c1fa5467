// The job page's Logs section: the job's log lines (ctx.log in its handler),
// stored ones first, then live, from one jobLogs subscription.
import { useState } from 'preact/hooks';
import { formatTime } from '../format.ts';
import { useSubscription } from '../hooks.ts';
import { JobLogsAfter, type JobLogLine } from '../operations.ts';
import { Card } from './common.tsx';

export function JobLogs({ id }: { id: string }) {
  const [lines, setLines] = useState<JobLogLine[]>([]);
  // From the start; a resubscription (reconnect) replays from the start too: keep the next sequence only.
  const error = useSubscription<{ jobLogs: JobLogLine }>(JobLogsAfter, { jobId: id, after: 0 }, (data) =>
    setLines((previous) => (data.jobLogs.sequence === previous.length + 1 ? [...previous, data.jobLogs] : previous)),
  );
  const attempts = new Set(lines.map((line) => line.attempt)).size;
  return (
    <Card title={<>Logs <span class="count">{lines.length}</span></>} class="logs">
      {error && <p class="error-text">{error}</p>}
      {lines.length === 0 ? (
        <p class="muted">No log lines (ctx.log.info/warn/error in the handler).</p>
      ) : (
        <table class="table compact log-lines" aria-label="Log lines">
          <thead>
            <tr>
              <th>Level</th>
              <th>Time</th>
              {attempts > 1 && <th>Attempt</th>}
              <th>Message</th>
              <th>Fields</th>
            </tr>
          </thead>
          <tbody>
            {lines.map((line) => (
              <tr data-log-sequence={line.sequence} class={`log-${line.level.toLowerCase()}`}>
                <td data-label="Level">
                  <span class={`log-level log-level-${line.level.toLowerCase()}`}>{line.level}</span>
                </td>
                <td data-label="Time" class="muted">{formatTime(line.createdAt)}</td>
                {attempts > 1 && <td data-label="Attempt">{line.attempt}</td>}
                <td data-label="Message" class="log-message">{line.message}</td>
                <td data-label="Fields" class="log-fields">{Object.keys(line.fields).length > 0 ? <code>{JSON.stringify(line.fields)}</code> : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
