import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { runJobAction } from '../actions.ts';
import { formatCount, formatDuration, runTime, shortId, STATUS_LABEL, timeAgo, uuidOf } from '../format.ts';
import { useQuery, useSubscription } from '../hooks.ts';
import {
  ACTIVE_STATUSES,
  BulkJobCount,
  CancelJobs,
  JOB_STATUSES,
  JobProgress,
  JobsList,
  RETRIABLE_STATUSES,
  RetryJobs,
  type BulkAction,
  type BulkCount,
  type BulkResult,
  type JobFilter,
  type JobsPage,
  type JobStatus,
  type JobSummary,
} from '../operations.ts';
import { linkProps, navigate } from '../router.ts';
import { parseSearch } from '../search.ts';
import { notify } from '../toasts.tsx';
import { Card, Dialog, ErrorNote, ProgressBar, StatusBadge, WaitingBadge } from './common.tsx';

const PAGE_SIZE = 25;

export interface ListFilter {
  statuses: JobStatus[];
  queueNames: string[];
  jobTypes: string[];
  kinds: string[];
  /** datetime-local values (the browser's time zone). */
  createdAfter: string;
  createdBefore: string;
  /** The search box's text (?q=; dashboard/src/search.ts). */
  search: string;
}

export function toApiFilter(filter: ListFilter): JobFilter {
  return {
    ...(filter.statuses.length ? { statuses: filter.statuses } : {}),
    ...(filter.queueNames.length ? { queueNames: filter.queueNames } : {}),
    ...(filter.jobTypes.length ? { jobTypes: filter.jobTypes } : {}),
    ...(filter.kinds.length ? { kinds: filter.kinds } : {}),
    ...(filter.createdAfter ? { createdAfter: new Date(filter.createdAfter).toISOString() } : {}),
    ...(filter.createdBefore ? { createdBefore: new Date(filter.createdBefore).toISOString() } : {}),
    ...parseSearch(filter.search).fields,
  };
}

const toggle = <T,>(list: T[], value: T) => (list.includes(value) ? list.filter((item) => item !== value) : [...list, value]);

function Filters({
  kinds,
  filter,
  onChange,
  queueNames,
  jobTypes,
}: {
  filter: ListFilter;
  onChange: (filter: ListFilter) => void;
  queueNames: string[];
  jobTypes: string[];
  /** The kinds of the service's job types (from jobTypes). */
  kinds: string[];
}) {
  const active = filter.statuses.length + filter.queueNames.length + filter.jobTypes.length + filter.kinds.length + (filter.createdAfter ? 1 : 0) + (filter.createdBefore ? 1 : 0) + (filter.search ? 1 : 0);
  const [search, setSearch] = useState(filter.search);
  useEffect(() => setSearch(filter.search), [filter.search]);
  const searchError = parseSearch(search).error;
  return (
    <div class="filters" aria-label="Filters">
      <form
        class="search job-search"
        data-search="jobs"
        aria-label="Search jobs"
        onSubmit={(event) => {
          event.preventDefault();
          if (!searchError) onChange({ ...filter, search: search.trim() });
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="Search: tag:customer:42  meta.customer=acme  payload.orderId=7  by:key:alice  error text"
          value={search}
          onInput={(event) => setSearch(event.currentTarget.value)}
          aria-label="Search jobs"
          title="tag:<tag> · by:<principal> · meta.<key>=<value> · payload.<key>=<value> · error:<text> or bare words (text in the error)"
        />
        <button type="submit" class="button">
          Search
        </button>
        {searchError && <span class="error-inline">{searchError}</span>}
      </form>
      <div class="chips" role="group" aria-label="Status">
        {JOB_STATUSES.map((status) => (
          <button
            type="button"
            class={`chip status-${status.toLowerCase()} ${filter.statuses.includes(status) ? 'on' : ''}`}
            aria-pressed={filter.statuses.includes(status)}
            data-filter-status={status}
            onClick={() => onChange({ ...filter, statuses: toggle(filter.statuses, status) })}
          >
            {STATUS_LABEL[status]}
          </button>
        ))}
      </div>
      <div class="filter-row">
        <label>
          Queue
          <select
            name="queue"
            value={filter.queueNames[0] ?? ''}
            onChange={(event) => onChange({ ...filter, queueNames: event.currentTarget.value ? [event.currentTarget.value] : [] })}
          >
            <option value="">All queues</option>
            {[...new Set([...queueNames, ...filter.queueNames])].map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Job type
          <select
            name="jobType"
            value={filter.jobTypes[0] ?? ''}
            onChange={(event) => onChange({ ...filter, jobTypes: event.currentTarget.value ? [event.currentTarget.value] : [] })}
          >
            <option value="">All types</option>
            {[...new Set([...jobTypes, ...filter.jobTypes])].map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select
            name="kind"
            value={filter.kinds[0] ?? ''}
            onChange={(event) => onChange({ ...filter, kinds: event.currentTarget.value ? [event.currentTarget.value] : [] })}
          >
            <option value="">All kinds</option>
            {[...new Set([...kinds, ...filter.kinds])].map((kind) => (
              <option value={kind}>{kind.toLowerCase().replace('_', ' ')}</option>
            ))}
          </select>
        </label>
        <label>
          Created after
          <input type="datetime-local" name="createdAfter" value={filter.createdAfter} onChange={(event) => onChange({ ...filter, createdAfter: event.currentTarget.value })} />
        </label>
        <label>
          Created before
          <input type="datetime-local" name="createdBefore" value={filter.createdBefore} onChange={(event) => onChange({ ...filter, createdBefore: event.currentTarget.value })} />
        </label>
        {active > 0 && (
          <button
            type="button"
            class="button ghost"
            onClick={() => onChange({ statuses: [], queueNames: [], jobTypes: [], kinds: [], createdAfter: '', createdBefore: '', search: '' })}
          >
            Clear filters ({active})
          </button>
        )}
      </div>
    </div>
  );
}

function SearchById() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const search = async (event: Event) => {
    event.preventDefault();
    const id = value.trim();
    if (!id) return;
    try {
      const data = await request<{ job: { id: string } | null }>(`query FindJob($id: ID!) { job(id: $id) { id } }`, { id });
      if (data.job) navigate(`/jobs/${uuidOf(data.job.id)}`);
      else setError(`No job with id ${id}`);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="search" onSubmit={search} role="search">
      <input
        type="search"
        name="jobId"
        placeholder="Find a job by id (UUID or global ID)"
        value={value}
        onInput={(event) => {
          setValue(event.currentTarget.value);
          setError(null);
        }}
        aria-label="Job id"
      />
      <button type="submit" class="button">
        Open
      </button>
      {error && <span class="error-inline">{error}</span>}
    </form>
  );
}

/** One row; a job that is queued or running follows its own jobUpdated for live status and progress. */
function JobRow({ job: initial, now }: { job: JobSummary; now: number }) {
  const [job, setJob] = useState(initial);
  useEffect(() => setJob(initial), [initial]);
  const live = ACTIVE_STATUSES.includes(initial.status);
  useSubscription<{ jobUpdated: JobSummary }>(JobProgress, live ? { id: initial.id } : null, (data) => setJob(data.jobUpdated));
  const duration = runTime(job, now);
  const uuid = uuidOf(job.id);
  return (
    <tr data-job-id={uuid} data-status={job.status}>
      <td>
        <StatusBadge status={job.status} cancelRequested={!!job.cancelRequestedAt} />
        <WaitingBadge reason={job.waitingReason} />
      </td>
      <td class="mono">
        <a {...linkProps(`/jobs/${uuid}`)} title={uuid}>
          {shortId(uuid)}
        </a>
      </td>
      <td>
        <div class="job-type">{job.jobType}</div>
        <div class="sub">
          {job.queueName} · {job.kind.toLowerCase().replace('_', ' ')}
          {job.retryCount > 0 ? ` · attempt ${job.retryCount + 1}/${job.maxRetries + 1}` : ''}
        </div>
      </td>
      <td class="progress-cell">
        <ProgressBar value={job.progress} status={job.status} label={job.progressMessage} />
        {job.errorMessage && (job.status === 'FAILED' || job.status === 'DEAD_LETTER' || job.status === 'RETRYING') ? (
          <div class="sub error-text" title={job.errorMessage}>
            {job.errorMessage}
          </div>
        ) : job.progressMessage ? (
          <div class="sub">{job.progressMessage}</div>
        ) : null}
      </td>
      <td title={job.createdAt}>{timeAgo(job.createdAt, now)}</td>
      <td class="num">{duration === null ? '—' : formatDuration(duration)}</td>
      <td class="row-actions">
        {ACTIVE_STATUSES.includes(job.status) && (
          <button type="button" class="button small danger" data-action="cancel" onClick={() => runJobAction('cancel', job.id)} disabled={!!job.cancelRequestedAt}>
            Cancel
          </button>
        )}
        {RETRIABLE_STATUSES.includes(job.status) && (
          <button type="button" class="button small" data-action="retry" onClick={() => runJobAction('retry', job.id)}>
            Retry
          </button>
        )}
      </td>
    </tr>
  );
}

/** Statuses a bulk action would select under this filter (empty: it cannot apply). */
function bulkStatuses(action: BulkAction, filter: ListFilter): JobStatus[] {
  const applicable = action === 'CANCEL' ? ACTIVE_STATUSES : RETRIABLE_STATUSES;
  return filter.statuses.length ? filter.statuses.filter((status) => applicable.includes(status)) : applicable;
}

function describeFilter(filter: ListFilter, statuses: JobStatus[]): string {
  const parts = [statuses.map((status) => STATUS_LABEL[status].toLowerCase()).join(' or ')];
  if (filter.queueNames.length) parts.push(`in queue ${filter.queueNames.join(', ')}`);
  if (filter.jobTypes.length) parts.push(`of type ${filter.jobTypes.join(', ')}`);
  if (filter.kinds.length) parts.push(`of kind ${filter.kinds.join(', ').toLowerCase()}`);
  if (filter.createdAfter) parts.push(`created after ${new Date(filter.createdAfter).toLocaleString()}`);
  if (filter.createdBefore) parts.push(`created before ${new Date(filter.createdBefore).toLocaleString()}`);
  if (filter.search) parts.push(`matching “${filter.search}”`);
  return parts.join(' ');
}

function BulkDialog({ action, filter, onClose }: { action: BulkAction; filter: ListFilter; onClose: () => void }) {
  const statuses = bulkStatuses(action, filter);
  const apiFilter = { ...toApiFilter(filter), statuses };
  const count = useQuery<BulkCount>(BulkJobCount, { action, filter: apiFilter });
  const [running, setRunning] = useState(false);
  const verb = action === 'CANCEL' ? 'cancel' : 'retry';
  const answer = count.data?.bulkJobCount;
  const n = answer?.data?.count ?? 0;
  const confirm = async () => {
    setRunning(true);
    try {
      const data = await request<Record<string, BulkResult>>(action === 'CANCEL' ? CancelJobs : RetryJobs, { filter: apiFilter });
      const result = data[action === 'CANCEL' ? 'cancelJobs' : 'retryJobs']!;
      if (!result.data) notify(result.message ?? `bulk ${verb} failed`, 'error');
      else {
        const { affectedCount, skipped, moreMatching } = result.data;
        notify(
          `${action === 'CANCEL' ? 'Cancelled' : 'Retried'} ${formatCount(affectedCount)} job${affectedCount === 1 ? '' : 's'}` +
            (skipped.length ? `; ${skipped.length} skipped (${skipped[0]!.message})` : '') +
            (moreMatching ? '; more match: run it again for the rest' : ''),
        );
      }
      onClose();
    } catch (error) {
      notify((error as Error).message, 'error');
      setRunning(false);
    }
  };
  return (
    <Dialog title={`${action === 'CANCEL' ? 'Cancel' : 'Retry'} matching jobs`} onClose={onClose}>
      <p class="muted">Jobs {describeFilter(filter, statuses)}.</p>
      {count.loading && !answer ? (
        <p>Counting…</p>
      ) : answer?.data ? (
        <p class="bulk-count" data-bulk-count={n}>
          <strong>{formatCount(n)}</strong> job{n === 1 ? '' : 's'} will be {action === 'CANCEL' ? 'cancelled' : 'retried'}
          {answer.data.moreThanMax ? ` (more match: one run takes the oldest ${formatCount(answer.data.max)})` : ''}.
        </p>
      ) : (
        <ErrorNote message={answer?.message ?? count.error} />
      )}
      <div class="dialog-actions">
        <button type="button" class="button ghost" onClick={onClose}>
          Keep them
        </button>
        <button type="button" class={`button ${action === 'CANCEL' ? 'danger' : 'primary'}`} data-confirm={verb} disabled={!answer?.data || n === 0 || running} onClick={confirm}>
          {running ? 'Working…' : `${action === 'CANCEL' ? 'Cancel' : 'Retry'} ${formatCount(n)} job${n === 1 ? '' : 's'}`}
        </button>
      </div>
    </Dialog>
  );
}

export function JobList({
  filter,
  onFilterChange,
  queueNames,
  jobTypes,
  kinds,
  changeCount,
}: {
  filter: ListFilter;
  onFilterChange: (filter: ListFilter) => void;
  queueNames: string[];
  jobTypes: string[];
  /** The kinds of the service's job types (from jobTypes). */
  kinds: string[];
  /** Bumped (throttled) when jobs change anywhere: the page reloads. */
  changeCount: number;
}) {
  const apiFilter = toApiFilter(filter);
  const filterKey = JSON.stringify(apiFilter);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  useEffect(() => setCursors([null]), [filterKey]);
  const after = cursors[cursors.length - 1] ?? null;
  const page = useQuery<JobsPage>(JobsList, { filter: apiFilter, first: PAGE_SIZE, after });
  useEffect(() => {
    if (changeCount > 0) page.reload();
  }, [changeCount]);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const [bulk, setBulk] = useState<BulkAction | null>(null);
  const jobs = page.data?.jobs;
  const firstRow = (cursors.length - 1) * PAGE_SIZE + 1;
  return (
    <Card
      title={
        <>
          Jobs {jobs && <span class="count" data-total-count={jobs.totalCount}>{formatCount(jobs.totalCount)}</span>}
        </>
      }
      class="jobs"
      actions={
        <>
          <SearchById />
          <button type="button" class="button" data-bulk="retry" disabled={!bulkStatuses('RETRY', filter).length} onClick={() => setBulk('RETRY')}>
            Retry matching…
          </button>
          <button type="button" class="button danger-outline" data-bulk="cancel" disabled={!bulkStatuses('CANCEL', filter).length} onClick={() => setBulk('CANCEL')}>
            Cancel matching…
          </button>
        </>
      }
    >
      <Filters filter={filter} onChange={onFilterChange} queueNames={queueNames} jobTypes={jobTypes} kinds={kinds} />
      <ErrorNote message={page.error} />
      <table class="table jobs-table" aria-label="Jobs">
        <thead>
          <tr>
            <th>Status</th>
            <th>Id</th>
            <th>Job</th>
            <th class="progress-head">Progress</th>
            <th>Created</th>
            <th class="num">Run time</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {jobs?.edges.map(({ node }) => <JobRow key={node.id} job={node} now={now} />)}
          {jobs && jobs.edges.length === 0 && (
            <tr>
              <td colSpan={7} class="empty">
                No jobs match these filters.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="pager">
        <span class="muted">
          {jobs && jobs.edges.length > 0 ? `${formatCount(firstRow)}–${formatCount(firstRow + jobs.edges.length - 1)} of ${formatCount(jobs.totalCount)}` : ''}
        </span>
        <button type="button" class="button ghost" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button
          type="button"
          class="button ghost"
          disabled={!jobs?.pageInfo.hasNextPage}
          onClick={() => jobs?.pageInfo.endCursor && setCursors([...cursors, jobs.pageInfo.endCursor])}
        >
          Older →
        </button>
      </div>
      {bulk && <BulkDialog action={bulk} filter={filter} onClose={() => setBulk(null)} />}
    </Card>
  );
}
