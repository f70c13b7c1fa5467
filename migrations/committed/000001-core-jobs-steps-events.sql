--! Previous: -
--! Hash: sha1:6df9f66eb4d46c32e0c9bbb67fefd8b7779dc971
--! Message: core: jobs, steps, events

-- jobwire core: jobs, their ordered steps and their event history.
-- The database owns the status machine: transitions, timestamps and the event
-- row of every status change are enforced here, so no code path can skip them.

create type job_status as enum (
  'PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING',
  'COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'
);

-- Each kind of job adds its value in its own migration (alter type ... add value).
create type job_kind as enum ('PLAIN');

create table job (
  id                  uuid primary key default gen_random_uuid(),
  kind                job_kind    not null default 'PLAIN',
  queue_name          text        not null default 'default',
  job_type            text        not null,
  payload             jsonb       not null default '{}',
  priority            integer     not null default 0,
  max_retries         integer     not null default 3,
  retry_count         integer     not null default 0,
  scheduled_at        timestamptz,
  status              job_status  not null default 'PENDING',
  error_message       text,
  result              jsonb,
  progress            real        not null default 0,
  progress_message    text,
  parent_job_id       uuid references job (id) on delete set null,
  created_by          text,
  metadata            jsonb       not null default '{}',
  worker_id           text,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  started_at          timestamptz,
  completed_at        timestamptz,
  failed_at           timestamptz,
  cancel_requested_at timestamptz,
  cancelled_at        timestamptz,
  constraint job_queue_name_format check (queue_name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  constraint job_type_format check (length(job_type) <= 100 and job_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  constraint job_payload_is_object check (jsonb_typeof(payload) = 'object'),
  constraint job_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
  constraint job_priority_range check (priority between -1000 and 1000),
  constraint job_max_retries_range check (max_retries between 0 and 100),
  constraint job_retry_count_not_negative check (retry_count >= 0),
  constraint job_progress_range check (progress between 0 and 100),
  constraint job_started_after_created check (started_at >= created_at),
  constraint job_completed_after_started check (completed_at is null or completed_at >= started_at),
  constraint job_failure_has_reason check (status not in ('FAILED', 'DEAD_LETTER') or error_message is not null)
);

create index job_list_idx on job (created_at desc, id desc);
create index job_status_idx on job (status);
create index job_queue_status_idx on job (queue_name, status);
create index job_type_idx on job (job_type, created_at desc);
create index job_parent_idx on job (parent_job_id) where parent_job_id is not null;
create index job_finished_idx on job ((coalesce(completed_at, failed_at, cancelled_at)))
  where status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED');

create table job_step (
  id            uuid primary key default gen_random_uuid(),
  job_id        uuid        not null references job (id) on delete cascade,
  name          text        not null,
  position      integer     not null,
  status        job_status  not null default 'PENDING',
  error_message text,
  result        jsonb,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  started_at    timestamptz,
  completed_at  timestamptz,
  constraint job_step_position_unique unique (job_id, position),
  constraint job_step_name_unique unique (job_id, name),
  constraint job_step_name_format check (length(name) between 1 and 100),
  constraint job_step_position_not_negative check (position >= 0),
  constraint job_step_status_allowed check (status in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
  constraint job_step_started_after_created check (started_at >= created_at),
  constraint job_step_completed_after_started check (completed_at is null or completed_at >= started_at),
  constraint job_step_failure_has_reason check (status <> 'FAILED' or error_message is not null)
);

-- Append-only history. tx_id is the inserting transaction (a 64-bit xid8 as
-- bigint, so Prisma can read it): readers deliver an event only once every
-- transaction older than it has ended, so a cursor never passes a row that is
-- still invisible (ids are taken at insert, not at commit).
create table job_event (
  id              bigint generated always as identity primary key,
  job_id          uuid        not null references job (id) on delete cascade,
  step_id         uuid        references job_step (id) on delete cascade,
  status          job_status  not null,
  previous_status job_status,
  message         text,
  created_at      timestamptz not null default clock_timestamp(),
  tx_id           bigint      not null default pg_current_xact_id()::text::bigint
);

create index job_event_job_idx on job_event (job_id, tx_id, id);
create index job_event_log_idx on job_event (tx_id, id);

-- The oldest transaction still running: events with a smaller tx_id are final.
create function job_event_settled_before() returns bigint
language sql stable as $$
  select pg_snapshot_xmin(pg_current_snapshot())::text::bigint
$$;

-- Heartbeats of worker processes; a live worker releases the jobs of dead ones.
create table worker (
  id                text primary key,
  hostname          text        not null,
  pid               integer     not null,
  started_at        timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now()
);

------------------------------------------------------------------------------
-- Status machine
------------------------------------------------------------------------------

create function job_status_transition_allowed(from_status job_status, to_status job_status)
returns boolean language sql immutable as $$
  select case from_status
    when 'PENDING'     then to_status in ('RUNNING', 'CANCELLED')
    when 'SCHEDULED'   then to_status in ('PENDING', 'RUNNING', 'CANCELLED')
    when 'RUNNING'     then to_status in ('COMPLETED', 'FAILED', 'RETRYING', 'DEAD_LETTER', 'CANCELLED')
    when 'RETRYING'    then to_status in ('RUNNING', 'CANCELLED')
    when 'FAILED'      then to_status = 'PENDING'
    when 'DEAD_LETTER' then to_status = 'PENDING'
    when 'CANCELLED'   then to_status = 'PENDING'
    else false
  end
$$;

create function job_step_status_transition_allowed(from_status job_status, to_status job_status)
returns boolean language sql immutable as $$
  select case from_status
    when 'PENDING'   then to_status in ('RUNNING', 'CANCELLED')
    when 'RUNNING'   then to_status in ('COMPLETED', 'FAILED', 'CANCELLED')
    when 'FAILED'    then to_status = 'RUNNING'
    when 'CANCELLED' then to_status = 'RUNNING'
    else false
  end
$$;

-- A message for the event that the current transaction's status change writes
-- (e.g. why a job was taken over); set with set_config('jobwire.event_message', ..., true).
create function job_event_message(fallback text) returns text
language sql stable as $$
  select coalesce(nullif(current_setting('jobwire.event_message', true), ''), fallback)
$$;

create function job_before_write() returns trigger language plpgsql as $$
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
        -- a manual retry: the job starts a new life, its history stays in job_event
        new.failed_at := null;
        new.cancelled_at := null;
        new.cancel_requested_at := null;
      else null;
    end case;
  end if;
  return new;
end
$$;

create trigger job_before_write before insert or update on job
  for each row execute function job_before_write();

create function job_after_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.status is distinct from old.status then
    insert into job_event (job_id, status, previous_status, message)
    values (
      new.id, new.status,
      case when tg_op = 'UPDATE' then old.status end,
      job_event_message(case when new.status in ('FAILED', 'DEAD_LETTER', 'RETRYING') then new.error_message end)
    );
  end if;
  -- A hint only (sent on commit): listeners read the row itself.
  perform pg_notify('jobwire_job', new.id::text);
  return null;
end
$$;

create trigger job_after_write after insert or update on job
  for each row execute function job_after_write();

create function job_step_before_write() returns trigger language plpgsql as $$
declare
  unfinished_before text;
begin
  if tg_op = 'UPDATE' then
    new.updated_at := now();
    if new.status is not distinct from old.status then
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

create trigger job_step_before_write before insert or update on job_step
  for each row execute function job_step_before_write();

create function job_step_after_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.status is distinct from old.status then
    insert into job_event (job_id, step_id, status, previous_status, message)
    values (
      new.job_id, new.id, new.status,
      case when tg_op = 'UPDATE' then old.status end,
      case when new.status = 'FAILED' then new.error_message end
    );
  end if;
  perform pg_notify('jobwire_job', new.job_id::text);
  return null;
end
$$;

create trigger job_step_after_write after insert or update on job_step
  for each row execute function job_step_after_write();

create function job_event_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'job_event is append-only' using errcode = 'JW003';
end
$$;

create trigger job_event_append_only before update on job_event
  for each row execute function job_event_append_only();

create function job_event_after_insert() returns trigger language plpgsql as $$
begin
  -- Identical notifications in one transaction are folded into one by Postgres.
  perform pg_notify('jobwire_event', '');
  return null;
end
$$;

create trigger job_event_after_insert after insert on job_event
  for each row execute function job_event_after_insert();

------------------------------------------------------------------------------
-- Retention
------------------------------------------------------------------------------

-- Deletes up to batch_size terminal jobs that finished before the cutoff, with
-- their steps, events and kind rows (cascade). Returns how many were deleted.
create function purge_finished_jobs(finished_before timestamptz, batch_size integer)
returns integer language sql as $$
  with doomed as (
    select id from job
     where status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
       and coalesce(completed_at, failed_at, cancelled_at) < finished_before
     order by coalesce(completed_at, failed_at, cancelled_at)
     limit batch_size
     for update skip locked
  ), deleted as (
    delete from job where id in (select id from doomed) returning 1
  )
  select count(*)::integer from deleted
$$;
