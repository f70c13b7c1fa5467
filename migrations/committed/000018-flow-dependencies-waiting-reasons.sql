--! Previous: sha1:454e2a2805acb1c47099c4f4e536eaab57adb0af
--! Hash: sha1:40b19ef4e8a5730c5849ed0e03cfe83d37c2499e
--! Message: flow: dependencies, waiting reasons, per-job timeout and concurrency key

-- Why a queued job does not run yet. A held job keeps its queue entry, parked
-- (run_at far ahead) or re-checked later; whatever releases it sets the entry's
-- run_at. Every change of the reason, while the status stays, writes an event.
create type job_waiting_reason as enum ('DEPENDENCIES', 'QUEUE_PAUSED', 'CONCURRENCY_LIMIT');

alter table job
  add column waiting_reason job_waiting_reason,
  -- Some job depends on this one: its status change settles the dependents.
  add column has_dependents boolean not null default false,
  add column timeout_ms integer,
  add column concurrency_key text,
  add column concurrency_limit integer,
  add constraint job_timeout_ms_positive check (timeout_ms > 0),
  add constraint job_concurrency_limit_with_key check ((concurrency_key is null) = (concurrency_limit is null) and concurrency_limit > 0);

-- The RUNNING jobs of a concurrency key, counted when a keyed job starts.
-- Keys are per tenant: one tenant's jobs neither take nor reveal another's slots.
create index job_concurrency_running_idx on job (tenant_id, concurrency_key)
  where concurrency_key is not null and status = 'RUNNING';
-- Held jobs, found again when what holds them goes away (resume, a dependency).
create index job_waiting_idx on job (waiting_reason, queue_name) where waiting_reason is not null;

-- Both jobs belong to one tenant (the create path checks dependsOn ids within
-- the caller's tenant), so a dependency never crosses tenants.
create table job_dependency (
  job_id            uuid not null references job (id) on delete cascade,
  depends_on_job_id uuid not null references job (id) on delete cascade,
  -- CANCEL: the dependent ends CANCELLED when this one ends FAILED, DEAD_LETTER or
  -- CANCELLED; RUN: it runs anyway once this one finished.
  on_failure        text not null default 'CANCEL',
  primary key (job_id, depends_on_job_id),
  constraint job_dependency_not_self check (job_id <> depends_on_job_id),
  constraint job_dependency_on_failure check (on_failure in ('CANCEL', 'RUN'))
);

create index job_dependency_depends_on_idx on job_dependency (depends_on_job_id);

create function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer)
returns text language sql immutable as $$
  select case reason
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    else 'no longer waiting'
  end
$$;

-- A new job that waits says so in its first event.
create or replace function job_after_insert() returns trigger language plpgsql as $$
begin
  insert into job_event (job_id, status, previous_status, message)
  select n.id, n.status, null,
         job_event_message(case when n.waiting_reason is not null
                                then job_waiting_message(n.waiting_reason, n.queue_name, n.concurrency_key, n.concurrency_limit) end)
    from new_rows n;
  return null;
end
$$;

create function job_after_waiting_change() returns trigger language plpgsql as $$
begin
  insert into job_event (job_id, status, previous_status, message)
  values (new.id, new.status, old.status,
          job_event_message(job_waiting_message(new.waiting_reason, new.queue_name, new.concurrency_key, new.concurrency_limit)));
  return null;
end
$$;

-- Only updates that set waiting_reason reach the WHEN (the hot path never does).
create trigger job_after_waiting_change after update of waiting_reason on job
  for each row when (old.waiting_reason is distinct from new.waiting_reason and old.status = new.status)
  execute function job_after_waiting_change();

-- A job that leaves its queued statuses waits for nothing.
create function job_clear_waiting_reason() returns trigger language plpgsql as $$
begin
  new.waiting_reason := null;
  return new;
end
$$;

create trigger job_clear_waiting_reason before update on job
  for each row when (new.waiting_reason is not null and new.status not in ('PENDING', 'SCHEDULED', 'RETRYING'))
  execute function job_clear_waiting_reason();

-- A job that others depend on finished: each dependent waiting for it is
-- released once all its dependencies completed, or ends CANCELLED (naming
-- this one) when this one did not complete and the dependent does not run
-- anyway. The dependent's row lock orders two dependencies finishing at once:
-- the second sees the first's status.
create function job_settle_dependents() returns trigger language plpgsql as $$
declare
  dependent record;
  saved_message text := current_setting('jobwire.event_message', true);
  reason text;
  released boolean := false;
begin
  for dependent in
    select job.id, job.queue_entry_id, job.scheduled_at, d.on_failure
      from job_dependency as d join job on job.id = d.job_id
     where d.depends_on_job_id = new.id
       and job.waiting_reason = 'DEPENDENCIES'
       and job.status in ('PENDING', 'SCHEDULED')
     order by job.id
       for update of job
  loop
    if new.status <> 'COMPLETED' and dependent.on_failure = 'CANCEL' then
      reason := format('dependency %s ended %s', new.id, new.status);
      perform set_config('jobwire.event_message', reason, true);
      update job set status = 'CANCELLED', error_message = reason, worker_id = null where id = dependent.id;
      if dependent.queue_entry_id is not null then
        perform graphile_worker.complete_jobs(array[dependent.queue_entry_id]);
      end if;
    elsif not exists (
      select 1 from job_dependency as d join job as dep on dep.id = d.depends_on_job_id
       where d.job_id = dependent.id
         and dep.status <> 'COMPLETED'
         and not (d.on_failure = 'RUN' and dep.status in ('FAILED', 'DEAD_LETTER', 'CANCELLED'))
    ) then
      perform set_config('jobwire.event_message', 'the jobs it depends on finished; queued', true);
      update job set waiting_reason = null where id = dependent.id;
      update graphile_worker._private_jobs set run_at = greatest(now(), coalesce(dependent.scheduled_at, now()))
       where id = dependent.queue_entry_id;
      released := true;
    end if;
  end loop;
  perform set_config('jobwire.event_message', coalesce(saved_message, ''), true);
  if released then
    -- graphile-worker's own wake-up for new work (its workers LISTEN on it).
    perform pg_notify('jobs:insert', '');
  end if;
  return null;
end
$$;

create trigger job_settle_dependents after update of status on job
  for each row when (new.has_dependents and old.status is distinct from new.status
                     and new.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'))
  execute function job_settle_dependents();
