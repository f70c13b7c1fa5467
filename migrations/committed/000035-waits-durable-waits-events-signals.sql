--! Previous: sha1:429ff9b7ac96cbf21454ef9056c4ea83474a47b7
--! Hash: sha1:264e25f484b5fb46a058c8ff52cac5febe58076e
--! Message: waits: durable waits for a time, an event, a signal or child jobs

-- A job that waits (src/worker/waits.ts) ends its attempt without failing:
-- RUNNING → PENDING with a waiting reason (TIMER, EVENT, SIGNAL, CHILDREN),
-- its wait in job_wait and its queue entry due when the wait times out (or
-- never, until woken). The wait is a step of the job (job_wait.step_id), so a
-- later attempt returns the step's result instead of waiting again.
alter type job_waiting_reason add value 'TIMER';
alter type job_waiting_reason add value 'EVENT';
alter type job_waiting_reason add value 'SIGNAL';
alter type job_waiting_reason add value 'CHILDREN';

create or replace function job_status_transition_allowed(from_status job_status, to_status job_status) returns boolean
  language sql immutable
  as $$
  select case from_status
    when 'PENDING'     then to_status in ('RUNNING', 'CANCELLED')
    when 'SCHEDULED'   then to_status in ('PENDING', 'RUNNING', 'CANCELLED')
    when 'RUNNING'     then to_status in ('COMPLETED', 'FAILED', 'RETRYING', 'DEAD_LETTER', 'CANCELLED', 'PENDING')
    when 'RETRYING'    then to_status in ('RUNNING', 'CANCELLED')
    when 'FAILED'      then to_status = 'PENDING'
    when 'DEAD_LETTER' then to_status = 'PENDING'
    when 'CANCELLED'   then to_status = 'PENDING'
    else false
  end
$$;

-- RUNNING → PENDING is a wait, not a manual retry: it keeps cancel_requested_at
-- (the worker cancels instead of waiting when it is set).
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
    if not job_status_transition_allowed(old.status, new.status) then
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
          -- a manual retry: the job starts a new life, its history stays in job_event
          new.failed_at := null;
          new.cancelled_at := null;
          new.cancel_requested_at := null;
        end if;
      else null;
    end case;
  end if;
  return new;
end
$$;

create table job_wait (
  job_id uuid not null,
  tenant_id text not null,
  -- The wait's step: RUNNING while the job waits, COMPLETED with the wait's result.
  step_id uuid not null,
  reason job_waiting_reason not null,
  -- The event's or signal's name.
  name text,
  -- EVENT: the event's data must contain this JSON (jsonb @>).
  match jsonb,
  -- TIMER: when it ends; EVENT, SIGNAL, CHILDREN: when the wait times out (null: never).
  wake_at timestamptz,
  -- CHILDREN: the children waited for, and whether ALL or ANY must finish.
  child_job_ids uuid[],
  children_mode text,
  created_at timestamptz not null default now(),
  constraint job_wait_pkey primary key (job_id),
  constraint job_wait_job_id_fkey foreign key (job_id) references job(id) on delete cascade,
  constraint job_wait_step_id_fkey foreign key (step_id) references job_step(id) on delete cascade,
  constraint job_wait_name_format check ((reason::text in ('EVENT', 'SIGNAL')) = (name is not null) and length(name) between 1 and 200),
  constraint job_wait_match_is_object check (match is null or jsonb_typeof(match) = 'object'),
  constraint job_wait_timer_has_time check (reason::text <> 'TIMER' or wake_at is not null),
  constraint job_wait_children check ((reason::text = 'CHILDREN') = (child_job_ids is not null)
                                      and (children_mode is null or children_mode in ('ALL', 'ANY')))
);
create index job_wait_name_idx on job_wait (tenant_id, name) where name is not null;
create index job_wait_wake_at_idx on job_wait (wake_at) where wake_at is not null;
create index job_wait_children_idx on job_wait using gin (child_job_ids) where child_job_ids is not null;

create or replace function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer) returns text
  language sql immutable
  as $$
  select case reason::text
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    when 'RATE_LIMIT' then format('waiting: queue %s reached its rate limit', queue_name)
    when 'NO_WORKER' then format('waiting: no live worker serves this job type in queue %s', queue_name)
    when 'TIMER' then 'waiting for a timer'
    when 'EVENT' then 'waiting for an event'
    when 'SIGNAL' then 'waiting for a signal'
    when 'CHILDREN' then 'waiting for its child jobs'
    else 'no longer waiting'
  end
$$;

-- Wakes the jobs whose waits this transaction removed (the delete of a
-- job_wait row is the wake: of two wakers, one deletes it and the other
-- finds nothing): each wait's step COMPLETED with `step_result`, the job no
-- longer waiting (an event with `message`), its queue entry due at once.
create function job_wait_wake(woken_job_ids uuid[], woken_step_ids uuid[], step_result jsonb, message text) returns void
  language plpgsql
  as $$
declare
  saved_message text := current_setting('jobwire.event_message', true);
begin
  if cardinality(woken_job_ids) = 0 then
    return;
  end if;
  update job_step set status = 'COMPLETED', result = step_result
   where id = any(woken_step_ids) and status = 'RUNNING';
  perform set_config('jobwire.event_message', message, true);
  with released as (
    update job set waiting_reason = null
     where id = any(woken_job_ids) and waiting_reason is not null and status in ('PENDING', 'SCHEDULED', 'RETRYING')
     returning queue_entry_id
  )
  update graphile_worker._private_jobs as entry set run_at = now()
    from released where entry.id = released.queue_entry_id and entry.locked_at is null and entry.run_at > now();
  perform set_config('jobwire.event_message', coalesce(saved_message, ''), true);
  -- graphile-worker's own wake-up for new work (its workers LISTEN on it), sent on commit.
  perform pg_notify('jobs:insert', '');
end
$$;

-- sendEvent in SQL: an app calls it inside its own transaction, so the event
-- wakes its waiters only if that transaction commits. Answers how many jobs it woke.
create function send_event(name text, data jsonb default '{}'::jsonb, options jsonb default '{}'::jsonb) returns integer
  language plpgsql security definer
  set search_path = public, pg_temp
  as $$
declare
  tenant text;
  unsupported text;
  woken_jobs uuid[];
  woken_steps uuid[];
begin
  options := coalesce(options, '{}'::jsonb);
  if jsonb_typeof(options) <> 'object' then
    raise exception 'options: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'options';
  end if;
  select string_agg(o, ', ' order by o) into unsupported from jsonb_object_keys(options) as o where o <> 'tenantId';
  if unsupported is not null then
    raise exception 'options: % not supported by send_event (supported: tenantId)', unsupported
      using errcode = 'invalid_parameter_value', column = 'options';
  end if;
  if send_event.name is null or length(send_event.name) not between 1 and 200 then
    raise exception 'name: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'name';
  end if;
  data := coalesce(data, '{}'::jsonb);
  if jsonb_typeof(data) <> 'object' then
    raise exception 'data: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'data';
  end if;
  if octet_length(data::text) > 262144 then
    raise exception 'data: must be at most 262144 bytes of JSON' using errcode = 'invalid_parameter_value', column = 'data';
  end if;
  tenant := coalesce(add_job_option(options, 'tenantId', 'string') #>> '{}', 'default');
  if not tenant_exists(tenant) then
    raise exception 'options.tenantId: no tenant "%"', tenant using errcode = 'invalid_parameter_value', column = 'options.tenantId';
  end if;

  with woken as (
    delete from job_wait as w
     where w.tenant_id = tenant and w.name = send_event.name and w.reason = 'EVENT' and data @> w.match
     returning w.job_id, w.step_id
  )
  select coalesce(array_agg(job_id order by job_id), '{}'), coalesce(array_agg(step_id order by job_id), '{}')
    into woken_jobs, woken_steps from woken;
  perform job_wait_wake(woken_jobs, woken_steps, jsonb_build_object('outcome', 'RECEIVED', 'data', data),
                        format('event %s received', send_event.name));
  return cardinality(woken_jobs);
end
$$;

-- signalJob in SQL: wakes the job if it waits for this signal (true), in the
-- caller's transaction. A null tenant is an admin's: any tenant's job.
-- Security definer, as add_job and send_event: an app's role needs no grant on job_wait.
create function signal_job(job_id uuid, name text, data jsonb default '{}'::jsonb, tenant_id text default 'default') returns boolean
  language plpgsql security definer
  set search_path = public, pg_temp
  as $$
declare
  woken record;
begin
  if signal_job.name is null or length(signal_job.name) not between 1 and 200 then
    raise exception 'name: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'name';
  end if;
  data := coalesce(data, '{}'::jsonb);
  if jsonb_typeof(data) <> 'object' then
    raise exception 'data: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'data';
  end if;
  if octet_length(data::text) > 262144 then
    raise exception 'data: must be at most 262144 bytes of JSON' using errcode = 'invalid_parameter_value', column = 'data';
  end if;
  delete from job_wait as w
   where w.job_id = signal_job.job_id and w.name = signal_job.name and w.reason = 'SIGNAL'
     and (signal_job.tenant_id is null or w.tenant_id = signal_job.tenant_id)
   returning w.job_id, w.step_id into woken;
  if not found then
    return false;
  end if;
  perform job_wait_wake(array[woken.job_id], array[woken.step_id], jsonb_build_object('outcome', 'RECEIVED', 'data', data),
                        format('signal %s received', signal_job.name));
  return true;
end
$$;

-- A waiting job that ends (cancelled, or finished without reaching its wait
-- again) leaves no wait behind: its row goes, its wait's step is CANCELLED.
create function job_end_wait() returns trigger language plpgsql as $$
declare
  ended record;
begin
  delete from job_wait where job_id = new.id returning step_id into ended;
  if found then
    update job_step set status = 'CANCELLED' where id = ended.step_id and status = 'RUNNING';
  end if;
  return null;
end
$$;
create trigger job_end_wait after update of status on job
  for each row
  when (old.status is distinct from new.status
        and new.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
        and (old.waiting_reason::text in ('TIMER', 'EVENT', 'SIGNAL', 'CHILDREN') or new.status = 'CANCELLED'))
  execute function job_end_wait();
