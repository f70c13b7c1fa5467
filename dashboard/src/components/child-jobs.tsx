// The job page's tree of child jobs (ctx.spawn), live. Each level is one
// ChildJobs query and jobEvents subscriptions filtered by parentJobIds (the
// level's parent; the children it shows), so a child's change of status, a new
// child, and a new grandchild (its count) all reload the level (throttled).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { watchConnection } from '../api.ts';
import { formatCount, shortId, uuidOf } from '../format.ts';
import { useQuery, useSubscription, useThrottled } from '../hooks.ts';
import { ChildJobEvents, ChildJobs, type ChildJob, type ChildJobsPage } from '../operations.ts';
import { linkProps } from '../router.ts';
import { Card, ErrorNote, StatusBadge, WaitingBadge } from './common.tsx';

/** Children shown per level at first; "Show more" adds as many, up to the API's largest page. */
export const CHILDREN_PER_PAGE = 20;
const CHILDREN_MAX = 100;
/** Levels below the job shown opened; deeper ones open on a click. */
export const OPEN_DEPTH = 3;
const RELOAD_EVERY_MS = 500;

function useChildren(parentId: string, shown: number) {
  const query = useQuery<ChildJobsPage>(ChildJobs, { id: parentId, first: shown });
  const reload = useThrottled(query.reload, RELOAD_EVERY_MS);
  const children = query.data?.job?.childJobs.edges.map((edge) => edge.node) ?? [];
  // Two subscriptions: the level's own children's events (one subscription for the level's life, so
  // none is missed between two), and its children's children's (a new grandchild moves a count), keyed
  // by the ids shown; when those change, it resumes after the last event seen by either.
  const lastCursor = useRef<string | null>(null);
  const onEvent = (data: { jobEvents: { cursor: string } }) => {
    lastCursor.current = data.jobEvents.cursor;
    reload();
  };
  const own = useMemo(() => ({ filter: { parentJobIds: [uuidOf(parentId)] } }), [parentId]);
  useSubscription(ChildJobEvents, own, onEvent);
  // Events while the websocket was down are not replayed (no cursor to resume from): load again on reconnecting.
  useEffect(() => {
    let wasDown = false;
    return watchConnection((state) => {
      if (state === 'live' && wasDown) reload();
      wasDown = state !== 'live';
    });
  }, [reload]);
  const childIds = children.map((child) => uuidOf(child.id)).join(',');
  const theirs = useMemo(() => (childIds ? { filter: { parentJobIds: childIds.split(',') }, after: lastCursor.current } : null), [childIds]);
  useSubscription(ChildJobEvents, theirs, onEvent);
  return { query, children, totalCount: query.data?.job?.childJobs.totalCount ?? 0 };
}

function ChildRow({ child, depth }: { child: ChildJob; depth: number }) {
  const count = child.childJobs.totalCount;
  const [open, setOpen] = useState(depth < OPEN_DEPTH);
  const uuid = uuidOf(child.id);
  return (
    <li class="child" data-child-id={uuid} data-status={child.status} data-depth={depth}>
      <div class="child-row">
        <StatusBadge status={child.status} cancelRequested={!!child.cancelRequestedAt} />
        <WaitingBadge reason={child.waitingReason} />
        <a {...linkProps(`/jobs/${uuid}`)} class="child-type">
          {child.jobType}
        </a>
        <span class="mono muted">{shortId(child.id)}</span>
        {count > 0 && (
          <button type="button" class="link-button" data-action="toggle-children" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? '▾' : '▸'} {formatCount(count)} {count === 1 ? 'child' : 'children'}
          </button>
        )}
      </div>
      {count > 0 && open && <ChildList parentId={child.id} depth={depth + 1} />}
    </li>
  );
}

function ChildList({ parentId, depth }: { parentId: string; depth: number }) {
  const [shown, setShown] = useState(CHILDREN_PER_PAGE);
  const { query, children, totalCount } = useChildren(parentId, shown);
  if (query.error) return <ErrorNote message={query.error} />;
  return <Children children={children} totalCount={totalCount} depth={depth} shown={shown} onMore={() => setShown(Math.min(shown + CHILDREN_PER_PAGE, CHILDREN_MAX))} />;
}

function Children({ children, totalCount, depth, shown, onMore }: { children: ChildJob[]; totalCount: number; depth: number; shown: number; onMore: () => void }) {
  const hidden = totalCount - children.length;
  return (
    <>
      <ul class="child-tree" data-depth={depth}>
        {children.map((child) => (
          <ChildRow key={child.id} child={child} depth={depth} />
        ))}
      </ul>
      {hidden > 0 &&
        (shown < CHILDREN_MAX ? (
          <button type="button" class="link-button more-children" data-action="more-children" onClick={onMore}>
            {formatCount(hidden)} more
          </button>
        ) : (
          <p class="muted more-children">First {formatCount(children.length)} of {formatCount(totalCount)} children.</p>
        ))}
    </>
  );
}

/** The Children card: shown once the job has a child (a first child spawned later appears live). */
export function ChildJobsCard({ id }: { id: string }) {
  const [shown, setShown] = useState(CHILDREN_PER_PAGE);
  const { query, children, totalCount } = useChildren(id, shown);
  if (query.error) return <ErrorNote message={query.error} />;
  if (totalCount === 0) return null;
  return (
    <Card title={<>Children <span class="count">{formatCount(totalCount)}</span></>} class="children">
      <Children children={children} totalCount={totalCount} depth={1} shown={shown} onMore={() => setShown(Math.min(shown + CHILDREN_PER_PAGE, CHILDREN_MAX))} />
    </Card>
  );
}
