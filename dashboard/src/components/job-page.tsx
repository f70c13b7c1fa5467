import { useEffect, useState } from 'preact/hooks';
import { runJobAction, sendSignal } from '../actions.ts';
import { finishedAt, formatCount, formatDuration, formatTime, runTime, STATUS_LABEL, uuidOf } from '../format.ts';
import { useQuery, useSubscription } from '../hooks.ts';
import {
  ACTIVE_STATUSES,
  JobDetailUpdated,
  JobEventsAfter,
  JobPageQuery,
  RETRIABLE_STATUSES,
  type JobDetail,
  type JobEvent,
} from '../operations.ts';
import { linkProps } from '../router.ts';
import { Card, ErrorNote, JsonView, ProgressBar, StatusBadge, WaitingBadge } from './common.tsx';
import { ChildJobsCard } from './child-jobs.tsx';
import { JobLogs } from './job-logs.tsx';

function Timeline({ events }: { events: JobEvent[] }) {
  return (
    <ol class="timeline" aria-label="Event history">
      {events.map((event, index) => {
        const previous = events[index - 1];
        const gap = previous ? Date.parse(event.createdAt) - Date.parse(previous.createdAt) : null;
        return (
          <li class={`status-${event.status.toLowerCase()}`} data-event-status={event.status} key={event.id}>
            <span class="dot" />
            <div class="event-main">
              <span class="event-title">
                {event.step ? <span class="step-name">step {event.step.name}: </span> : null}
                {event.previousStatus ? `${STATUS_LABEL[event.previousStatus]} → ` : ''}
                <strong>{STATUS_LABEL[event.status]}</strong>
              </span>
              {event.message && <span class="event-message">{event.message}</span>}
            </div>
            <time class="event-time" dateTime={event.createdAt} title={event.createdAt}>
              {formatTime(event.createdAt)}
              {gap !== null && <span class="gap">+{formatDuration(gap)}</span>}
            </time>
          </li>
        );
      })}
    </ol>
  );
}

function Fact({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The kind's facts as its descriptor gives them (Job.kindDetail), with the lists some kinds add. */
function KindDetail({ job }: { job: JobDetail }) {
  const detail = job.kindDetail;
  if (!detail) return null;
  const errors = job.importErrors?.edges ?? [];
  const failed = new Map((job.failedSymbols ?? []).map((failure) => [failure.symbol, failure.error]));
  return (
    <Card title={detail.title} class="kind-detail">
      <dl class="facts">
        {detail.facts.map((fact) => (
          <Fact label={fact.label}>{fact.value}</Fact>
        ))}
      </dl>
      {job.symbols && (
        <ul class="symbols" aria-label="Symbols">
          {job.symbols.map((symbol) => (
            <li class={failed.has(symbol) ? 'failed' : ''} title={failed.get(symbol)} data-symbol={symbol}>
              {symbol}
              {failed.has(symbol) && <span class="symbol-error">{failed.get(symbol)}</span>}
            </li>
          ))}
        </ul>
      )}
      {errors.length > 0 && (
        <table class="table compact" aria-label="Import errors">
          <thead>
            <tr>
              <th class="num">Row</th>
              <th class="num">Line</th>
              <th>Error</th>
              <th>Field</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {errors.map(({ node }) => (
              <tr>
                <td class="num">{node.row}</td>
                <td class="num">{node.line}</td>
                <td>{node.type}</td>
                <td>{node.field ?? '—'}</td>
                <td>
                  {node.message}
                  {node.similarity !== null ? ` (similarity ${node.similarity.toFixed(2)})` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(job.importErrors?.totalCount ?? 0) > errors.length && <p class="muted">First {errors.length} of {formatCount(job.importErrors!.totalCount)} bad rows.</p>}
    </Card>
  );
}

export function JobPage({ id }: { id: string }) {
  const initial = useQuery<{ job: (JobDetail & { events: { edges: Array<{ node: JobEvent }> } }) | null }>(JobPageQuery, { id });
  const [job, setJob] = useState<JobDetail | null>(null);
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [after, setAfter] = useState<string | null>(null);
  useEffect(() => {
    const loaded = initial.data?.job;
    if (!loaded) return;
    setJob(loaded);
    const history = loaded.events.edges.map((edge) => edge.node);
    setEvents(history);
    setAfter(history.at(-1)?.cursor ?? '');
  }, [initial.data]);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  // The job's state, live; and its history from the last event loaded on (none missed, none twice).
  useSubscription<{ jobUpdated: JobDetail }>(JobDetailUpdated, job ? { id } : null, (data) => setJob(data.jobUpdated));
  useSubscription<{ jobEvents: JobEvent }>(
    JobEventsAfter,
    after === null ? null : { filter: { jobIds: [id] }, after: after || null },
    (data) => setEvents((previous) => (previous.some((event) => event.id === data.jobEvents.id) ? previous : [...previous, data.jobEvents])),
  );

  if (initial.error) return <ErrorNote message={initial.error} />;
  if (initial.data && !initial.data.job) return <p class="empty">No job with id {id}.</p>;
  if (!job) return <p class="muted">Loading…</p>;
  const uuid = uuidOf(job.id);
  const duration = runTime(job, now);
  const steps = job.steps.edges.map((edge) => edge.node);
  return (
    <div class="job-page" data-job-id={uuid}>
      <nav class="crumbs">
        <a {...linkProps('/')}>← All jobs</a>
      </nav>
      <header class="job-header">
        <div>
          <h1>
            {job.jobType} <StatusBadge status={job.status} cancelRequested={!!job.cancelRequestedAt} />
        <WaitingBadge reason={job.waitingReason} />
          </h1>
          <p class="mono muted">{uuid}</p>
        </div>
        <div class="job-actions">
          {job.wait?.reason === 'SIGNAL' && job.wait.name && (
            // A durable wait for a person (ctx.waitForSignal): the button sends the signal through the API, as the caller.
            <button type="button" class="button primary" data-action="signal" data-signal={job.wait.name} onClick={() => sendSignal(job.id, job.wait!.name!)}>
              Send {job.wait.name}
            </button>
          )}
          {ACTIVE_STATUSES.includes(job.status) && (
            <button type="button" class="button danger" data-action="cancel" disabled={!!job.cancelRequestedAt} onClick={() => runJobAction('cancel', job.id)}>
              {job.cancelRequestedAt ? 'Stopping…' : 'Cancel job'}
            </button>
          )}
          {RETRIABLE_STATUSES.includes(job.status) && (
            <button type="button" class="button primary" data-action="retry" onClick={() => runJobAction('retry', job.id)}>
              Retry job
            </button>
          )}
        </div>
      </header>
      <div class="job-progress">
        <ProgressBar value={job.progress} status={job.status} label={job.progressMessage} />
        {job.progressMessage && <span class="muted">{job.progressMessage}</span>}
      </div>
      <div class="job-grid">
        <div class="job-main">
          <Card title="Details">
            <dl class="facts">
              <Fact label="Queue">{job.queueName}</Fact>
              <Fact label="Kind">{job.kind.toLowerCase().replace('_', ' ')}</Fact>
              <Fact label="Priority">{job.priority}</Fact>
              <Fact label="Attempt">
                {job.retryCount + 1} of {job.maxRetries + 1}
              </Fact>
              <Fact label="Worker">{job.workerId ?? '—'}</Fact>
              <Fact label="Created by">{job.createdBy ?? '—'}</Fact>
              <Fact label="Created">{formatTime(job.createdAt)}</Fact>
              {job.scheduledAt && <Fact label="Scheduled for">{formatTime(job.scheduledAt)}</Fact>}
              <Fact label="Started">{formatTime(job.startedAt)}</Fact>
              <Fact label="Finished">{formatTime(finishedAt(job))}</Fact>
              <Fact label="Run time">{duration === null ? '—' : formatDuration(duration)}</Fact>
              {job.wait && (
                <Fact label="Waits for">
                  {job.wait.reason === 'TIMER' ? 'a timer' : `${job.wait.reason.toLowerCase()} ${job.wait.name ?? ''}`} (step {job.wait.step})
                  {job.wait.wakeAt && `, until ${formatTime(job.wait.wakeAt)}`}
                </Fact>
              )}
              {job.parentJob && (
                <Fact label="Parent">
                  <a {...linkProps(`/jobs/${uuidOf(job.parentJob.id)}`)}>{job.parentJob.jobType}</a>
                </Fact>
              )}
            </dl>
          </Card>
          {job.errorMessage && (
            <Card title="Error" class="error-card">
              <pre class="error-text">{job.errorMessage}</pre>
            </Card>
          )}
          <ChildJobsCard id={job.id} />
          <KindDetail job={job} />
          <div class="two">
            <Card title="Payload">
              <JsonView value={job.payload} empty="{}" />
            </Card>
            <Card title="Result">
              <JsonView value={job.result} empty={finishedAt(job) ? 'no result data' : 'not finished'} />
            </Card>
          </div>
          {Object.keys(job.metadata).length > 0 && (
            <Card title="Metadata">
              <JsonView value={job.metadata} />
            </Card>
          )}
          {steps.length > 0 && (
            <Card title={`Steps (${steps.length})`}>
              <ol class="steps">
                {steps.map((step) => (
                  <li data-step={step.name}>
                    <span class="step-position">{step.position + 1}</span>
                    <span class="step-label">{step.name}</span>
                    <StatusBadge status={step.status} />
                    <span class="muted">
                      {step.startedAt && step.completedAt ? formatDuration(Date.parse(step.completedAt) - Date.parse(step.startedAt)) : ''}
                    </span>
                    {step.errorMessage && <span class="error-text">{step.errorMessage}</span>}
                  </li>
                ))}
              </ol>
            </Card>
          )}
          <JobLogs id={id} />
        </div>
        <aside class="job-side">
          <Card title={<>History <span class="count">{events.length}</span></>} class="history">
            <Timeline events={events} />
          </Card>
        </aside>
      </div>
    </div>
  );
}
