--! Previous: sha1:6ac6889a9ff81d292cc6a469df1601ac37e69ebc
--! Hash: sha1:f53811820e2b00c8dba4a9027feedd9b4988bab7
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

-- Rerun from a step (src/job-state/rerun.ts): a finished job, COMPLETED too,
-- goes back to PENDING with the named step and the later ones PENDING again.
-- Only a transaction that sets jobwire.rerun may make these moves, so the
-- status machines stay as they are for everything else.
create or replace function job_before_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    if new.status not in ('PENDING', 'SCHEDULED') then
      raise exception 'a new job must be PENDING or SCHEDULED, not %', new.status
        using errcode = 'JW001', detail = 'from=' || 'NONE' || ';to=' || new.status;
    end if;
    return new;
  end if;

  new.updated_at := now();
  if new.status is distinct from old.status then
    if new.status = 'COMPLETED' and job_status_transition_allowed(old.status, 'RUNNING') then
      if new.started_at is not distinct from old.started_at or new.started_at > now() then
        raise exception 'job % cannot go from % to COMPLETED unless it passes through RUNNING (started_at set to when it started)', old.id, old.status
          using errcode = 'JW001', detail = 'from=' || old.status || ';to=' || new.status;
      end if;
      new.completed_at := now();
      return new;
    end if;
    if not (job_status_transition_allowed(old.status, new.status)
            or (old.status = 'COMPLETED' and new.status = 'PENDING' and coalesce(current_setting('jobwire.rerun', true), '') = 'on')) then
      raise exception 'job % cannot go from % to %', old.id, old.status, new.status
        using errcode = 'JW001', detail = 'from=' || old.status || ';to=' || new.status;
    end if;
    case new.status
      when 'RUNNING' then new.started_at := now();
      when 'COMPLETED' then new.completed_at := now();
      when 'FAILED', 'DEAD_LETTER' then new.failed_at := now();
      when 'CANCELLED' then new.cancelled_at := now();
      when 'PENDING' then
        if old.status <> 'RUNNING' then
          -- a manual retry or a rerun: the job starts a new life, its history stays in job_event
          new.failed_at := null;
          new.cancelled_at := null;
          new.cancel_requested_at := null;
          new.completed_at := null;
        end if;
      else null;
    end case;
  end if;
  return new;
end
$$;

create or replace function job_step_before_write() returns trigger language plpgsql as $$
declare
  unfinished_before text;
begin
  if tg_op = 'UPDATE' then
    new.updated_at := now();
    if new.status is not distinct from old.status then
      return new;
    end if;
    if new.status = 'PENDING' and coalesce(current_setting('jobwire.rerun', true), '') = 'on' then
      -- a rerun resets the step: it runs again as if new
      new.started_at := null;
      new.completed_at := null;
      return new;
    end if;
    if not job_step_status_transition_allowed(old.status, new.status) then
      raise exception 'step "%" of job % cannot go from % to %', old.name, old.job_id, old.status, new.status
        using errcode = 'JW001', detail = 'from=' || old.status || ';to=' || new.status;
    end if;
  elsif new.status not in ('PENDING', 'RUNNING') then
    raise exception 'a new step must be PENDING or RUNNING, not %', new.status using errcode = 'JW001';
  end if;

  if new.status = 'RUNNING' then
    select string_agg(name, ', ' order by position) into unfinished_before
      from job_step
     where job_id = new.job_id and position < new.position and status <> 'COMPLETED';
    if unfinished_before is not null then
      raise exception 'step "%" of job % cannot start before %', new.name, new.job_id, unfinished_before
        using errcode = 'JW002';
    end if;
    new.started_at := now();
    new.completed_at := null;
  elsif new.status = 'COMPLETED' then
    new.completed_at := now();
  end if;
  return new;
end
$$;
