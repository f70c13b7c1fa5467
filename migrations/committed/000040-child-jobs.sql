--! Previous: sha1:b1005f6411a267226f3d9874930ea79811a75ec5
--! Hash: sha1:d6c8ef6f51bc7d5334fc54acf57617f84a6b0b46
--! Message: child jobs: waits for children woken in the database, cancel cascades to children

-- Child jobs (src/worker/children.ts): ctx.spawn creates a job whose
-- parent_job_id is the spawning job; ctx.waitForChildren waits (reason
-- CHILDREN, job_wait.child_job_ids / children_mode) until ALL or ANY of them
-- finish. The wake happens here, in the transaction that finishes the child,
-- so it is atomic and happens once (the delete of the job_wait row is the wake).

-- Whether cancelling the parent cancels this job (a spawn option, default on).
alter table job add column cancel_with_parent boolean not null default true;

-- The children's outcome once the wait is over (ALL: every child finished;
-- ANY: one), null before: { children: [{ id, status, result, error }] } in the
-- order waited for. A child deleted meanwhile (retention) counts as finished, status null.
create function job_children_outcome(child_ids uuid[], mode text) returns jsonb
  language sql stable
  as $$
  select case when (case mode when 'ANY' then bool_or(c.finished) else bool_and(c.finished) end)
    then jsonb_build_object('children', jsonb_agg(jsonb_build_object('id', c.id, 'status', c.status, 'result', c.result, 'error', c.error)
                                                  order by c.position))
  end
  from (
    select ids.id, ids.position, job.status, job.result, job.error,
           coalesce(job.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'), true) as finished
      from unnest(child_ids) with ordinality as ids(id, position)
      left join job on job.id = ids.id
  ) as c
$$;

-- A child that finishes wakes its parent if the parent waits for it and the
-- wait is over. The parent's row is locked first: children finishing at once
-- then decide one after the other (each sees the others' statuses), and a
-- parent recording its wait (suspendRunningJob locks its row) is not missed.
create function job_wake_parent() returns trigger language plpgsql as $$
declare
  w record;
  outcome jsonb;
  parent_status job_status;
begin
  select status into parent_status from job where id = new.parent_job_id for no key update;
  -- Only a waiting parent is woken (a parent cancelled with its children ends its wait itself: job_end_wait).
  if parent_status is distinct from 'PENDING' then
    return null;
  end if;
  select job_id, step_id, child_job_ids, children_mode into w
    from job_wait where job_id = new.parent_job_id and reason = 'CHILDREN' and new.id = any(child_job_ids);
  if not found then
    return null;
  end if;
  outcome := job_children_outcome(w.child_job_ids, w.children_mode);
  if outcome is null then
    return null;
  end if;
  delete from job_wait where job_id = w.job_id and step_id = w.step_id;
  if found then
    perform job_wait_wake(array[w.job_id], array[w.step_id], outcome,
                          format('child jobs finished (%s of %s)', lower(coalesce(w.children_mode, 'ALL')), cardinality(w.child_job_ids)));
  end if;
  return null;
end
$$;
create trigger job_wake_parent after update of status on job
  for each row
  when (new.parent_job_id is not null and old.status is distinct from new.status
        and new.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'))
  execute function job_wake_parent();

-- A wait for children that are already over when it is recorded ends as it
-- commits (deferred: the job is PENDING with its queue entry by then).
create function job_wait_children_over() returns trigger language plpgsql as $$
declare
  outcome jsonb;
begin
  outcome := job_children_outcome(new.child_job_ids, new.children_mode);
  if outcome is null then
    return null;
  end if;
  delete from job_wait where job_id = new.job_id and step_id = new.step_id and reason = 'CHILDREN';
  if found then
    perform job_wait_wake(array[new.job_id], array[new.step_id], outcome,
                          format('child jobs finished (%s of %s)', lower(coalesce(new.children_mode, 'ALL')), cardinality(new.child_job_ids)));
  end if;
  return null;
end
$$;
create constraint trigger job_wait_children_over after insert or update on job_wait
  deferrable initially deferred
  for each row
  when (new.reason = 'CHILDREN')
  execute function job_wait_children_over();

-- Cancelling a job cancels its active children that cancel with it (and
-- theirs, as each child's cancel fires this again), as cancelJob does: a
-- child whose queue entry still waits is CANCELLED at once, one running (or
-- taken by a worker) is asked to stop.
create function job_cancel_children() returns trigger language plpgsql as $$
declare
  child record;
  saved_message text := current_setting('jobwire.event_message', true);
begin
  perform set_config('jobwire.event_message', format('cancelled with its parent %s', new.id), true);
  for child in
    select id, status, queue_entry_id, cancel_requested_at from job
     where parent_job_id = new.id and cancel_with_parent and status in ('PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING')
     order by id
       for update
  loop
    if child.status <> 'RUNNING' and child.queue_entry_id is not null and exists (
         select from graphile_worker.complete_jobs(array(
           select id from graphile_worker.jobs where id = child.queue_entry_id and locked_at is null))) then
      update job set status = 'CANCELLED', worker_id = null where id = child.id;
    elsif child.cancel_requested_at is null then
      update job set cancel_requested_at = now() where id = child.id;
      perform pg_notify('jobwire_cancel', child.id::text);
    end if;
  end loop;
  perform set_config('jobwire.event_message', coalesce(saved_message, ''), true);
  return null;
end
$$;
create trigger job_cancel_children after update of status on job
  for each row
  when (new.status = 'CANCELLED' and old.status is distinct from new.status)
  execute function job_cancel_children();
