--! Previous: sha1:e1d6581c1b49acc5e2ee8798f9ff844b2b112680
--! Hash: sha1:95453a91ebc4ec276265ae99d37c25c8c00265e0
--! Message: registry: job types registered by workers, routing by type and queue, NO_WORKER

-- The job-type registry (docs/job-type-registry.md): every worker records the
-- job types it serves, with their payload JSON Schema and defaults, so an API
-- process validates payloads of types it does not host; each queue entry's
-- graphile-worker task names its job type and queue, so a worker fetches only
-- what it serves; a queued job that no live worker serves waits with NO_WORKER.
alter type job_waiting_reason add value 'NO_WORKER';

create table job_type (
  name                      text        not null primary key,
  description               text        not null default '',
  kind                      job_kind    not null default 'PLAIN',
  -- The payload as JSON Schema (draft 2020-12), printed from the handler's zod schema.
  payload_schema            jsonb       not null,
  result_schema             jsonb,
  steps                     text[]      not null default '{}',
  default_queue_name        text        not null default 'default',
  default_max_retries       integer     not null default 3,
  default_priority          integer     not null default 0,
  default_timeout_ms        integer,
  default_concurrency_limit integer,
  registered_at             timestamptz not null default now(),
  updated_at                timestamptz not null default now(),
  constraint job_type_name_length check (length(name) between 1 and 59),
  constraint job_type_payload_schema_object check (jsonb_typeof(payload_schema) = 'object')
);

-- Which worker serves which job type: rows go with their worker (a dead one's
-- are deleted with its worker row); last_seen_at follows the worker's heartbeat.
create table worker_job_type (
  worker_id    text        not null references worker (id) on delete cascade,
  job_type     text        not null references job_type (name) on delete cascade,
  -- The queues this worker takes jobs of this type from; null: every queue.
  queue_names  text[],
  last_seen_at timestamptz not null default now(),
  primary key (worker_id, job_type)
);
create index worker_job_type_job_type_idx on worker_job_type (job_type);

-- The graphile-worker task of a job's queue entries: a worker's task list
-- names the types and queues it serves, and graphile-worker fetches only those.
-- At most 4 + 59 + 1 + 64 = 128 characters (graphile-worker's bound).
create function job_task_identifier(job_type text, queue_name text) returns text
  language sql immutable parallel safe
  as $$ select 'job:' || job_type || ':' || queue_name $$;

-- Whether a worker (one not yet found dead) serves jobs of this type in this queue.
create function job_served(job_type text, queue_name text) returns boolean
  language sql stable
  as $$
    select exists (
      select 1 from worker_job_type s
       where s.job_type = job_served.job_type
         and (s.queue_names is null or job_served.queue_name = any (s.queue_names)))
  $$;

create or replace function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer)
  returns text language sql immutable as $$
  select case reason::text
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    when 'RATE_LIMIT' then format('waiting: queue %s reached its rate limit', queue_name)
    when 'NO_WORKER' then format('waiting: no live worker serves this job type in queue %s', queue_name)
    else 'no longer waiting'
  end
$$;

-- A job created, or retried by hand, while no worker serves its type and
-- queue waits visibly (its insert event carries the reason's message).
create function job_before_queue_no_worker() returns trigger language plpgsql as $$
begin
  if new.status in ('PENDING', 'SCHEDULED') and not job_served(new.job_type, new.queue_name) then
    new.waiting_reason := 'NO_WORKER';
  end if;
  return new;
end
$$;
create trigger job_before_insert_no_worker before insert on job
  for each row when (new.waiting_reason is null) execute function job_before_queue_no_worker();
create trigger job_before_retry_no_worker before update of status on job
  for each row when (new.waiting_reason is null and new.status = 'PENDING' and old.status in ('FAILED', 'DEAD_LETTER', 'CANCELLED'))
  execute function job_before_queue_no_worker();

-- A worker now serves the type (and queues): its jobs no longer wait for one
-- (an event each, by job_after_waiting_change); their queue entries are due already.
create function worker_job_type_after_serve() returns trigger language plpgsql as $$
begin
  update job set waiting_reason = null
   where waiting_reason = 'NO_WORKER'
     and job_type = new.job_type
     and (new.queue_names is null or queue_name = any (new.queue_names))
     and status in ('PENDING', 'SCHEDULED', 'RETRYING');
  return null;
end
$$;
create trigger worker_job_type_after_serve after insert or update of queue_names on worker_job_type
  for each row execute function worker_job_type_after_serve();

-- The last worker serving a type left (stopped, or found dead): its queued jobs wait.
create function worker_job_type_after_leave() returns trigger language plpgsql as $$
begin
  update job set waiting_reason = 'NO_WORKER'
   where job_type = old.job_type
     and waiting_reason is null
     and status in ('PENDING', 'SCHEDULED', 'RETRYING')
     and (old.queue_names is null or queue_name = any (old.queue_names))
     and not job_served(job_type, queue_name);
  return null;
end
$$;
create trigger worker_job_type_after_leave after delete on worker_job_type
  for each row execute function worker_job_type_after_leave();

-- Queue entries written before routing (task run_job) move to their job's task.
insert into graphile_worker._private_tasks (identifier)
select distinct job_task_identifier(job_type, queue_name) from job where queue_entry_id is not null
on conflict do nothing;
update graphile_worker._private_jobs as entry
   set task_id = task.id
  from job, graphile_worker._private_tasks as task
 where job.queue_entry_id = entry.id
   and task.identifier = job_task_identifier(job.job_type, job.queue_name)
   and entry.task_id = (select id from graphile_worker._private_tasks where identifier = 'run_job');
-- Jobs already queued keep their waiting_reason: a new enum value cannot be
-- used in the transaction that adds it; they run as soon as a worker serves them.
