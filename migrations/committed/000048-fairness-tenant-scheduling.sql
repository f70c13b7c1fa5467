--! Previous: sha1:3375d21aad8eb8a49e4f9f8d72a8de6cb4ccd1e8
--! Hash: sha1:8b0e9223551e44ab4d97f53c471e037c00e77940
--! Message: fairness: tenants take turns in a shared queue (operator weights), a running-job limit per tenant, aging

-- How workers share queues between tenants (docs/fairness.md), set by the
-- operator (`jobwire tenants set-scheduling`): a tenant's weight (its share of
-- the starts while several tenants have due jobs) and the most jobs it may run
-- at once (null: no limit). A tenant without a row has weight 1 and no limit.
-- Create-time limits (queued jobs, schedules, priorities) are another table's
-- (tenant_quota).
create table tenant_scheduling (
  tenant_id text not null,
  weight integer not null default 1,
  max_running_jobs integer,
  updated_at timestamptz not null default now(),
  constraint tenant_scheduling_pkey primary key (tenant_id),
  constraint tenant_scheduling_tenant_not_empty check (tenant_id <> ''),
  constraint tenant_scheduling_weight_range check (weight between 1 and 100),
  constraint tenant_scheduling_max_running_jobs_positive check (max_running_jobs >= 1)
);

comment on table tenant_scheduling is 'Per-tenant weight and running-job limit for shared queues (docs/fairness.md), set by the operator.';

alter type job_waiting_reason add value 'TENANT_RUNNING_LIMIT';

create or replace function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer)
  returns text language sql immutable as $$
  select case reason::text
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    when 'RATE_LIMIT' then format('waiting: queue %s reached its rate limit', queue_name)
    when 'KEY_RATE_LIMIT' then 'waiting: its rate limit key reached its rate limit'
    when 'TENANT_RUNNING_LIMIT' then 'waiting: its tenant runs as many jobs as its limit allows'
    when 'NO_WORKER' then format('waiting: no live worker serves this job type in queue %s', queue_name)
    when 'TIMER' then 'waiting for a timer'
    when 'EVENT' then 'waiting for an event'
    when 'SIGNAL' then 'waiting for a signal'
    when 'CHILDREN' then 'waiting for its child jobs'
    else 'no longer waiting'
  end
$$;

-- Turns. graphile-worker takes due entries by (priority, run_at). A new job's
-- entry gets, as its run_at, its turn on a start-time fair queueing clock,
-- computed in the statement that inserts the entry (job_turns, called by
-- src/job-state/insert.ts and add_job), so the entry is written once:
--   - nothing queued at that priority (no available entry due within a
--     minute, in any queue): the job is due now, as without turns (the first
--     job of a statement gets the run_at it was given, and the others of its
--     tenant 100 µs / weight apart);
--   - else: the later of the entry next in line at that priority (now when
--     none is due yet) and the tenant's last turn in that queue and priority
--     plus 100 µs / weight, then 100 µs / weight per job of the statement.
-- The tenant's last turn is the entry of its newest due PENDING job there
-- (job_tenant_turn_idx: one index entry, whatever its backlog). A turn is
-- 100 µs / weight later than the one before (rounded to the microsecond): a
-- tenant runs ahead of the clock only past 10,000 creates a second per unit
-- of weight, and its jobs then wait for their turn's time.
-- Turns are on where `jobwire.tenant_turns` is `on` (a database, role or
-- session setting the operator makes); elsewhere every job keeps the run_at it
-- was given. Off by default: a turn costs a lone create about 1.4 ms of start
-- latency (bench:peers, docs/fairness.md).
create index job_tenant_turn_idx on job (tenant_id, queue_name, priority, queue_entry_id desc)
  where status = 'PENDING' and (waiting_reason is null or waiting_reason = 'NO_WORKER');

create function job_turns(tenant_ids text[], queue_names text[], priorities integer[], run_ats timestamptz[])
  -- Volatile: the planner of the calling insert would otherwise run it once more, to estimate unnest's rows.
  returns timestamptz[] language plpgsql volatile
  -- The last-turn look must walk the index from the newest entry and stop at the first: a bitmap scan
  -- (chosen on a freshly loaded table's stale statistics) reads the tenant's whole backlog instead.
  set enable_bitmapscan = off
  -- One plan per connection: planned for each call's values, the query cost some 3 ms of planning
  -- (its range estimates probe the ends of indexes full of just-deleted entries) to run in 0.5 ms.
  set plan_cache_mode = force_generic_plan
as $$
declare
  turns timestamptz[];
begin
  if coalesce(current_setting('jobwire.tenant_turns', true), '') <> 'on' then
    return run_ats;
  end if;
  -- Joins only against the few lanes (tenant, queue, priority): the generic plan guesses 10 specs
  -- and would nest-loop specs against specs.
  with spec as (
    select s.ord, s.tenant_id, s.queue_name, s.priority, s.run_at,
           -- Only jobs due when created take a turn (a scheduled job keeps its time).
           s.run_at is null or s.run_at <= now() as due,
           row_number() over (partition by s.tenant_id, s.queue_name, s.priority, s.run_at is null or s.run_at <= now() order by s.ord) - 1 as k
      from unnest(tenant_ids, queue_names, priorities, run_ats) with ordinality as s(tenant_id, queue_name, priority, run_at, ord)
  ), lane as (
    select l.tenant_id, l.queue_name, l.priority, l.last_k,
           -- The first available entry at this priority (graphile-worker's index, one probe).
           (select e.run_at from graphile_worker._private_jobs as e
             where e.is_available and e.priority = -l.priority order by e.run_at limit 1) as first_run_at
      from (select f.tenant_id, f.queue_name, f.priority, max(f.k) as last_k from spec as f where f.due group by 1, 2, 3) as l
  ), placed as (
    select lane.tenant_id, lane.queue_name, lane.priority,
           lane.first_run_at is not null and lane.first_run_at <= now() + interval '1 minute' as busy,
           lane.first_run_at,
           case when lane.last_k = 0 and (lane.first_run_at is null or lane.first_run_at > now() + interval '1 minute') then null
                else make_interval(secs => 0.0001 / coalesce((select s.weight from tenant_scheduling as s where s.tenant_id = lane.tenant_id), 1))
           end as step
      from lane
  ), based as (
    select placed.*,
           case when placed.busy then
             greatest(least(now(), placed.first_run_at),
                      (select e.run_at
                         from (select j.queue_entry_id from job as j
                                where j.tenant_id = placed.tenant_id and j.queue_name = placed.queue_name and j.priority = placed.priority
                                  and j.status = 'PENDING' and (j.waiting_reason is null or j.waiting_reason = 'NO_WORKER')
                                order by j.queue_entry_id desc limit 1) as newest
                         join graphile_worker._private_jobs as e on e.id = newest.queue_entry_id
                        where e.run_at <= now() + interval '1 minute') + placed.step)
           end as base
      from placed
  )
  select array_agg(
           case when not s.due then s.run_at
                when b.base is not null then b.base + s.k * b.step
                when s.k = 0 then s.run_at
                else now() + s.k * b.step
           end order by s.ord)
    into turns
    from spec as s
    left join based as b on s.due and b.tenant_id = s.tenant_id and b.queue_name = s.queue_name and b.priority = s.priority;
  return turns;
end
$$;

comment on function job_turns(text[], text[], integer[], timestamptz[]) is 'The run_at of new jobs'' queue entries: each tenant''s turn in its queue and priority (docs/fairness.md); the given run_at when nothing is queued there.';

-- A running job of a tenant with a running limit ended: its tenant's waiting
-- jobs (TENANT_RUNNING_LIMIT) are due at once, best first, as many as the
-- limit (each passes the gate again, src/flow/tenant-limit.ts).
create function job_wake_tenant_waiters() returns trigger language plpgsql as $$
begin
  -- Most databases have no running limit: one look at a small table per update statement.
  if not exists (select from tenant_scheduling where max_running_jobs is not null) then
    return null;
  end if;
  update graphile_worker._private_jobs as entry set run_at = now()
    from (select waiting.queue_entry_id
            from (select distinct o.tenant_id from old_rows as o where o.status = 'RUNNING'
                    and not exists (select from job as j where j.id = o.id and j.status = 'RUNNING')) as ended
            join tenant_scheduling as s on s.tenant_id = ended.tenant_id and s.max_running_jobs is not null
            cross join lateral (
              select j.queue_entry_id from job as j
               where j.tenant_id = ended.tenant_id and j.waiting_reason = 'TENANT_RUNNING_LIMIT'
                 and j.status in ('PENDING', 'SCHEDULED', 'RETRYING')
               order by j.priority desc, j.created_at
               limit s.max_running_jobs) as waiting) as woken
   where entry.id = woken.queue_entry_id and entry.locked_at is null and entry.run_at > now();
  if found then
    perform pg_notify('jobs:insert', '');
  end if;
  return null;
end
$$;

-- (Transition tables rule out `update of status`: it fires for every update statement.)
create trigger job_wake_tenant_waiters after update on job referencing old table as old_rows
  for each statement execute function job_wake_tenant_waiters();

-- Aging (src/flow/aging.ts): one sweep per step across all workers, claimed here.
create table job_aging_sweep (
  id boolean not null default true,
  swept_at timestamptz not null default now(),
  constraint job_aging_sweep_pkey primary key (id),
  constraint job_aging_sweep_one_row check (id)
);

insert into job_aging_sweep (id) values (true);

comment on table job_aging_sweep is 'When a worker last aged the waiting queue entries (docs/fairness.md): one sweep per step across all workers.';

-- add_job (the function of migration "viewer: add_job takes tags") gives its
-- job's queue entry its tenant's turn (job_turns), as src/job-state/insert.ts does.
create or replace function add_job(job_type text, payload jsonb default '{}', options jsonb default '{}')
returns uuid language plpgsql volatile security definer set search_path = public, pg_temp as $function$
declare
  supported constant text[] := array['tenantId', 'queueName', 'priority', 'maxRetries', 'scheduledAt', 'parentJobId',
    'metadata', 'idempotencyKey', 'idempotencyKeyFreeAfterMs', 'dependsOn', 'dependencyFailure', 'timeoutMs',
    'concurrencyKey', 'concurrencyLimit', 'rateLimit', 'tags'];
  unsupported text;
  registered record;
  error text;
  new_id uuid := gen_random_uuid();
  tenant text;
  queue text;
  job_priority integer;
  job_max_retries integer;
  job_scheduled_at timestamptz;
  parent_id uuid;
  job_metadata jsonb;
  key text;
  key_free_after bigint;
  held record;
  depends_on uuid[] := array[]::uuid[];
  dependency_failure text;
  dependency record;
  waits boolean := false;
  job_timeout integer;
  job_concurrency_key text;
  job_concurrency_limit integer;
  job_rate_limit jsonb;
  job_rate_limit_key text;
  job_rate_limit_max_starts integer;
  job_rate_limit_interval_ms integer;
  job_tags text[] := array[]::text[];
  tag jsonb;
  entry_id bigint;
  task text;
  task_id integer;
  position integer;
begin
  options := coalesce(options, '{}'::jsonb);
  if jsonb_typeof(options) <> 'object' then
    raise exception 'options: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'options';
  end if;
  select string_agg(o, ', ' order by o) into unsupported from jsonb_object_keys(options) as o where o <> all (supported);
  if unsupported is not null then
    raise exception 'options: % not supported by add_job (supported: %)', unsupported, array_to_string(supported, ', ')
      using errcode = 'invalid_parameter_value', column = 'options';
  end if;

  if add_job.job_type is null or add_job.job_type = '' then
    raise exception 'jobType: must not be empty' using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;
  select t.* into registered from job_type as t where t.name = add_job.job_type;
  if not found then
    raise exception 'jobType: unknown job type "%"; no worker has registered it', add_job.job_type
      using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;
  if registered.kind <> 'PLAIN' then
    raise exception 'jobType: jobs of type "%" are % jobs and have their own create mutation', add_job.job_type, registered.kind
      using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;

  payload := coalesce(payload, '{}'::jsonb);
  if jsonb_typeof(payload) <> 'object' then
    raise exception 'payload: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'payload';
  end if;
  if octet_length(payload::text) > 262144 then
    raise exception 'payload: must be at most 262144 bytes of JSON' using errcode = 'invalid_parameter_value', column = 'payload';
  end if;
  error := json_schema_error(registered.payload_schema, payload, 'payload');
  if error is not null then
    raise exception '%', error using errcode = 'invalid_parameter_value', column = split_part(error, ':', 1);
  end if;

  tenant := coalesce(add_job_option(options, 'tenantId', 'string') #>> '{}', 'default');
  if not tenant_exists(tenant) then
    raise exception 'options.tenantId: no tenant "%"', tenant using errcode = 'invalid_parameter_value', column = 'options.tenantId';
  end if;
  queue := coalesce(add_job_option(options, 'queueName', 'string') #>> '{}', registered.default_queue_name);
  if queue !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' then
    raise exception 'options.queueName: must be 1-64 letters, digits or _.:- and start with a letter or digit'
      using errcode = 'invalid_parameter_value', column = 'options.queueName';
  end if;
  job_priority := coalesce(add_job_int_option(options, 'priority', -1000, 1000), registered.default_priority);
  job_max_retries := coalesce(add_job_int_option(options, 'maxRetries', 0, 100), registered.default_max_retries);
  begin
    job_scheduled_at := (add_job_option(options, 'scheduledAt', 'string') #>> '{}')::timestamptz;
  exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'options.scheduledAt: must be a date-time' using errcode = 'invalid_parameter_value', column = 'options.scheduledAt';
  end;
  job_metadata := coalesce(add_job_option(options, 'metadata', 'object'), '{}'::jsonb);
  job_timeout := coalesce(add_job_int_option(options, 'timeoutMs', 1, 86400000), registered.default_timeout_ms);
  job_concurrency_key := add_job_option(options, 'concurrencyKey', 'string') #>> '{}';
  job_concurrency_limit := add_job_int_option(options, 'concurrencyLimit', 1, 10000);
  if job_concurrency_key is not null and length(job_concurrency_key) not between 1 and 200 then
    raise exception 'options.concurrencyKey: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'options.concurrencyKey';
  end if;
  if job_concurrency_limit is not null and job_concurrency_key is null then
    raise exception 'options.concurrencyLimit: needs a concurrencyKey' using errcode = 'invalid_parameter_value', column = 'options.concurrencyLimit';
  end if;
  if job_concurrency_key is not null then
    job_concurrency_limit := coalesce(job_concurrency_limit, registered.default_concurrency_limit, 1);
  end if;
  -- rateLimit: { key, maxStarts, intervalMs }, each required (its fields named options.rateLimit.<name>).
  job_rate_limit := add_job_option(options, 'rateLimit', 'object');
  if job_rate_limit is not null then
    job_rate_limit := jsonb_build_object('rateLimit.key', job_rate_limit->'key', 'rateLimit.maxStarts', job_rate_limit->'maxStarts',
                                         'rateLimit.intervalMs', job_rate_limit->'intervalMs');
    job_rate_limit_key := add_job_option(job_rate_limit, 'rateLimit.key', 'string') #>> '{}';
    job_rate_limit_max_starts := add_job_int_option(job_rate_limit, 'rateLimit.maxStarts', 1, 100000);
    job_rate_limit_interval_ms := add_job_int_option(job_rate_limit, 'rateLimit.intervalMs', 1, 86400000);
    if job_rate_limit_key is null or length(job_rate_limit_key) not between 1 and 200 then
      raise exception 'options.rateLimit.key: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'options.rateLimit.key';
    end if;
    if job_rate_limit_max_starts is null then
      raise exception 'options.rateLimit.maxStarts: is required' using errcode = 'invalid_parameter_value', column = 'options.rateLimit.maxStarts';
    end if;
    if job_rate_limit_interval_ms is null then
      raise exception 'options.rateLimit.intervalMs: is required' using errcode = 'invalid_parameter_value', column = 'options.rateLimit.intervalMs';
    end if;
  end if;

  -- tags: as createJob's (src/core/tags.ts), duplicates dropped in order; each bad one named by its position.
  if add_job_option(options, 'tags', 'array') is not null then
    if jsonb_array_length(options->'tags') > 20 then
      raise exception 'options.tags: must have at most 20 tags' using errcode = 'invalid_parameter_value', column = 'options.tags';
    end if;
    for position in 0 .. jsonb_array_length(options->'tags') - 1 loop
      tag := options->'tags'->position;
      if jsonb_typeof(tag) <> 'string' or (tag #>> '{}') !~ '^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,63}$' then
        raise exception 'options.tags.%: must be 1-64 letters, digits or _.:=/- and start with a letter or digit', position
          using errcode = 'invalid_parameter_value', column = 'options.tags.' || position;
      end if;
      if (tag #>> '{}') <> all (job_tags) then
        job_tags := job_tags || (tag #>> '{}');
      end if;
    end loop;
  end if;

  begin
    parent_id := (add_job_option(options, 'parentJobId', 'string') #>> '{}')::uuid;
  exception when invalid_text_representation then
    raise exception 'options.parentJobId: must be a job id (UUID)' using errcode = 'invalid_parameter_value', column = 'options.parentJobId';
  end;
  if parent_id is not null and not exists (select from job where id = parent_id and job.tenant_id = tenant) then
    raise exception 'options.parentJobId: no job with id %', parent_id using errcode = 'invalid_parameter_value', column = 'options.parentJobId';
  end if;

  -- Unique jobs (src/flow/idempotency.ts): the key is claimed before the job
  -- row is written; a key the tenant holds answers its job and writes nothing.
  key := add_job_option(options, 'idempotencyKey', 'string') #>> '{}';
  key_free_after := add_job_int_option(options, 'idempotencyKeyFreeAfterMs', 0, 9223372036854775807);
  if key is not null and length(key) not between 1 and 200 then
    raise exception 'options.idempotencyKey: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'options.idempotencyKey';
  end if;
  if key_free_after is not null and key is null then
    raise exception 'options.idempotencyKeyFreeAfterMs: needs an idempotencyKey'
      using errcode = 'invalid_parameter_value', column = 'options.idempotencyKeyFreeAfterMs';
  end if;

  -- Dependencies (src/flow/dependencies.ts): locked, so none finishes unseen before this commits.
  if add_job_option(options, 'dependsOn', 'array') is not null then
    if jsonb_array_length(options->'dependsOn') > 100 then
      raise exception 'options.dependsOn: must name at most 100 jobs' using errcode = 'invalid_parameter_value', column = 'options.dependsOn';
    end if;
    for position in 0 .. jsonb_array_length(options->'dependsOn') - 1 loop
      begin
        depends_on := depends_on || ((options->'dependsOn'->>position)::uuid);
      exception when invalid_text_representation then
        raise exception 'options.dependsOn.%: must be a job id (UUID)', position
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || position;
      end;
    end loop;
  end if;
  dependency_failure := coalesce(add_job_option(options, 'dependencyFailure', 'string') #>> '{}', 'CANCEL');
  if dependency_failure not in ('CANCEL', 'RUN') then
    raise exception 'options.dependencyFailure: must be CANCEL or RUN' using errcode = 'invalid_parameter_value', column = 'options.dependencyFailure';
  end if;

  if key is not null then
    loop
      insert into job_idempotency_key (tenant_id, idempotency_key, job_id, free_after_ms)
      values (tenant, key, new_id, key_free_after)
      on conflict (tenant_id, idempotency_key) do nothing;
      exit when found;
      select k.job_id,
             (k.free_after_ms is not null
              and job.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
              and coalesce(job.completed_at, job.failed_at, job.cancelled_at) + k.free_after_ms * interval '1 millisecond' <= now()) as free
        into held
        from job_idempotency_key as k join job on job.id = k.job_id
       where k.tenant_id = tenant and k.idempotency_key = key
         for update of k;
      -- Its job was deleted (retention) between the insert and the read: try again.
      continue when not found;
      if not held.free then
        return held.job_id;
      end if;
      update job_idempotency_key set job_id = new_id, free_after_ms = key_free_after, created_at = now()
       where tenant_id = tenant and idempotency_key = key;
      exit;
    end loop;
  end if;

  if cardinality(depends_on) > 0 then
    for dependency in
      select d.position, d.id, job.status
        from unnest(depends_on) with ordinality as d(id, position)
        left join job on job.id = d.id and job.tenant_id = tenant
       order by d.id
    loop
      if dependency.status is null then
        raise exception 'options.dependsOn.%: no job with id %', dependency.position - 1, dependency.id
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || (dependency.position - 1);
      end if;
      if dependency.status in ('FAILED', 'DEAD_LETTER', 'CANCELLED') and dependency_failure = 'CANCEL' then
        raise exception 'options.dependsOn.%: job % is % and will not complete; pass dependencyFailure: RUN to run anyway',
          dependency.position - 1, dependency.id, dependency.status
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || (dependency.position - 1);
      end if;
      if dependency.status not in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED') then
        waits := true;
      end if;
    end loop;
    perform from job where id = any(depends_on) order by id for update;
    update job set has_dependents = true where id = any(depends_on) and not has_dependents;
  end if;

  -- The queue entry first, so the job row is written once, with its entry's id
  -- (as src/job-state/insert.ts; task, retries and priority as queue-entry.ts
  -- writes them). A task new to the database is announced to workers on
  -- commit, as queue-entry.ts's announceNewTasks does. The entry is written
  -- into graphile-worker's table directly (as job_settle_dependents updates
  -- it), not through graphile_worker.add_jobs: called once per job, add_jobs
  -- cost about 1 ms a call, growing with the entries of the transaction (its
  -- job-key update scans them), where this insert costs some 0.05 ms.
  task := job_task_identifier(add_job.job_type, queue);
  select id into task_id from graphile_worker._private_tasks where identifier = task;
  if not found then
    insert into graphile_worker._private_tasks (identifier) values (task) on conflict do nothing returning id into task_id;
    if task_id is null then
      select id into task_id from graphile_worker._private_tasks where identifier = task;
    else
      perform pg_notify('jobwire_job_task', task);
    end if;
  end if;
  insert into graphile_worker._private_jobs (task_id, payload, run_at, max_attempts, priority)
  values (task_id, json_build_object('jobId', new_id),
          case when waits then '2999-01-01T00:00:00Z'::timestamptz
               else coalesce((job_turns(array[tenant], array[queue], array[job_priority], array[job_scheduled_at]))[1], now()) end,
          job_max_retries + 10, -job_priority)
  returning id into entry_id;
  -- graphile-worker's wake-up for new work, sent on commit (identical notifications of one transaction fold into one).
  perform pg_notify('jobs:insert', '');

  insert into job (id, kind, queue_name, job_type, payload, priority, max_retries, scheduled_at, status,
                   parent_job_id, created_by, metadata, queue_entry_id, tenant_id, waiting_reason,
                   timeout_ms, concurrency_key, concurrency_limit,
                   rate_limit_key, rate_limit_max_starts, rate_limit_interval_ms, tags)
  values (new_id, 'PLAIN', queue, add_job.job_type, payload, job_priority, job_max_retries, job_scheduled_at,
          case when job_scheduled_at > now() then 'SCHEDULED' else 'PENDING' end::job_status,
          parent_id, 'sql:' || session_user, job_metadata, entry_id, tenant,
          case when waits then 'DEPENDENCIES' end::job_waiting_reason,
          job_timeout, job_concurrency_key, job_concurrency_limit,
          job_rate_limit_key, job_rate_limit_max_starts, job_rate_limit_interval_ms, job_tags);

  if cardinality(registered.steps) > 0 then
    insert into job_step (job_id, name, position)
    select new_id, s.name, (s.position - 1)::integer from unnest(registered.steps) with ordinality as s(name, position);
  end if;

  if cardinality(depends_on) > 0 then
    insert into job_dependency (job_id, depends_on_job_id, on_failure)
    select new_id, d, dependency_failure from (select distinct unnest(depends_on) as d) as x;
  end if;
  return new_id;
end
$function$;
