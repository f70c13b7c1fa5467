import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, setToken, watchConnection, type ConnectionState } from './api.ts';
import { AuthGate } from './components/auth-gate.tsx';
import { JobList, type ListFilter } from './components/job-list.tsx';
import { JobPage } from './components/job-page.tsx';
import { JobTypes as JobTypesPage } from './components/job-types.tsx';
import { QueueTable, StatusTiles, ThroughputChart } from './components/overview.tsx';
import { useQuery, useSubscription, useThrottled } from './hooks.ts';
import { JobTypes, QueuesUpdated, type JobStatus, type QueueStats } from './operations.ts';
import { linkProps, navigate, useRoute, type Route } from './router.ts';
import { Toasts } from './toasts.tsx';
import './styles.css';

const list = (params: URLSearchParams, key: string) => params.get(key)?.split(',').filter(Boolean) ?? [];

function filterFromRoute(route: Route): ListFilter {
  return {
    statuses: list(route.params, 'status') as JobStatus[],
    queueNames: list(route.params, 'queue'),
    jobTypes: list(route.params, 'type'),
    kinds: list(route.params, 'kind'),
    createdAfter: route.params.get('after') ?? '',
    createdBefore: route.params.get('before') ?? '',
    search: route.params.get('q') ?? '',
  };
}

function routeOfFilter(filter: ListFilter): string {
  const params = new URLSearchParams();
  if (filter.statuses.length) params.set('status', filter.statuses.join(','));
  if (filter.queueNames.length) params.set('queue', filter.queueNames.join(','));
  if (filter.jobTypes.length) params.set('type', filter.jobTypes.join(','));
  if (filter.kinds.length) params.set('kind', filter.kinds.join(','));
  if (filter.createdAfter) params.set('after', filter.createdAfter);
  if (filter.createdBefore) params.set('before', filter.createdBefore);
  if (filter.search) params.set('q', filter.search);
  const query = params.toString();
  return `/${query ? `?${query}` : ''}`;
}

function Home({ route }: { route: Route }) {
  const filter = filterFromRoute(route);
  const setFilter = (next: ListFilter) => navigate(routeOfFilter(next), true);
  const [queues, setQueues] = useState<QueueStats[] | null>(null);
  // Every queuesUpdated tick means jobs changed: the list and the chart reload, at most once a second.
  const [changeCount, setChangeCount] = useState(0);
  const bump = useThrottled(() => setChangeCount((count) => count + 1), 1000);
  const queuesError = useSubscription<{ queuesUpdated: QueueStats[] }>(QueuesUpdated, {}, (data) => {
    setQueues(data.queuesUpdated);
    bump();
  });
  const types = useQuery<{ jobTypes: Array<{ jobType: string; kind: string }> }>(JobTypes, {});
  const toggleStatus = (status: JobStatus) =>
    setFilter({ ...filter, statuses: filter.statuses.includes(status) ? filter.statuses.filter((s) => s !== status) : [status] });
  const toggleQueue = (queue: string) => setFilter({ ...filter, queueNames: filter.queueNames.includes(queue) ? [] : [queue] });
  return (
    <>
      {queuesError && <p class="error-note">Live updates failed: {queuesError}</p>}
      <StatusTiles queues={queues} selected={filter.statuses} onSelect={toggleStatus} />
      <div class="overview-grid">
        <QueueTable queues={queues} selected={filter.queueNames} onSelect={toggleQueue} />
        <ThroughputChart changeCount={changeCount} />
      </div>
      <JobList
        filter={filter}
        onFilterChange={setFilter}
        queueNames={(queues ?? []).map((queue) => queue.queueName)}
        jobTypes={(types.data?.jobTypes ?? []).map((type) => type.jobType)}
        kinds={[...new Set((types.data?.jobTypes ?? []).map((type) => type.kind))].sort()}
        changeCount={changeCount}
      />
    </>
  );
}

function ConnectionBadge() {
  const [state, setState] = useState<ConnectionState>('connecting');
  useEffect(() => watchConnection(setState), []);
  const label = { connecting: 'Connecting…', live: 'Live', offline: 'Reconnecting…', unauthorized: 'No access' }[state];
  return (
    <span class={`connection ${state}`} data-connection={state} title="graphql-ws connection to /graphql">
      <i /> {label}
    </span>
  );
}

function TokenSettings() {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState(getToken());
  return (
    <div class="token">
      <button type="button" class="button ghost small" onClick={() => setOpen(!open)} aria-expanded={open}>
        {getToken() ? 'API key set' : 'API key'}
      </button>
      {open && (
        <form
          class="token-form"
          onSubmit={(event) => {
            event.preventDefault();
            setToken(value.trim());
          }}
        >
          <label>
            <span>
              API key or JWT (sent as <code>Authorization: Bearer …</code>; kept in this tab only, until it closes)
            </span>
            <input type="password" name="token" value={value} onInput={(event) => setValue(event.currentTarget.value)} autoComplete="off" />
          </label>
          <div class="dialog-actions">
            <button type="button" class="button ghost small" onClick={() => setToken('')}>
              Forget
            </button>
            <button type="submit" class="button primary small">
              Save
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function App() {
  const route = useRoute();
  const jobMatch = /^\/jobs\/([^/]+)$/.exec(route.path);
  const typesPage = route.path === '/types';
  return (
    <>
      <header class="topbar">
        <a class="brand" {...linkProps('/')}>
          <span class="logo">jw</span> jobwire
        </a>
        <nav>
          <a {...linkProps('/')} class={jobMatch || typesPage ? '' : 'active'}>
            Jobs
          </a>
          <a {...linkProps('/types')} class={typesPage ? 'active' : ''}>
            Job types
          </a>
          <a href="/graphql" target="_blank" rel="noreferrer">
            GraphiQL
          </a>
        </nav>
        <div class="spacer" />
        <ConnectionBadge />
        <TokenSettings />
      </header>
      <main class="content">
        <AuthGate>
          {jobMatch ? <JobPage key={jobMatch[1]} id={decodeURIComponent(jobMatch[1]!)} /> : typesPage ? <JobTypesPage /> : <Home route={route} />}
        </AuthGate>
      </main>
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById('app')!);
