--! Previous: sha1:3375d21aad8eb8a49e4f9f8d72a8de6cb4ccd1e8
--! Hash: sha1:6ec50a640611938725d561f7e407942e2bc0d3af
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
-- entry gets, as its run_at, its turn on a start-time fair queueing clock: its
-- tenant's last turn in that queue and priority (or, for a tenant with none
-- queued there, the turn of the entry next in line) plus 100 µs / weight. A
-- tenant's backlog thus interleaves with every other tenant's new jobs in
-- proportion to their weights, and the take stays graphile-worker's own
-- indexed query. Turns are written after the statement that inserted the jobs
-- (an entry is written before its job row, so the tenant is known only then).
-- A turn is 100 µs / weight later than the one before (rounded to the
-- microsecond): a tenant runs ahead of the clock only past 10,000 creates a
-- second per unit of weight, and its jobs then wait for their turn's time.
create function job_take_turns() returns trigger language plpgsql as $$
begin
  with fresh as (
    select n.queue_entry_id, n.tenant_id, n.queue_name, n.priority,
           row_number() over (partition by n.tenant_id, n.queue_name, n.priority order by n.created_at, n.id) as k
      from new_rows as n
     where n.status = 'PENDING' and (n.waiting_reason is null or n.waiting_reason = 'NO_WORKER') and n.queue_entry_id is not null
  ), grp as (
    select grp.tenant_id, grp.queue_name, grp.priority,
           coalesce((select s.weight from tenant_scheduling as s where s.tenant_id = grp.tenant_id), 1) as weight,
           -- The entry next in line at this priority (in any queue); now when none is due.
           least(now(), coalesce((select e.run_at from graphile_worker._private_jobs as e
                                   where e.is_available and e.priority = -grp.priority and e.run_at <= now()
                                   order by e.run_at limit 1), now())) as head,
           -- The tenant's last turn here: the entry of its newest queued job in this queue and priority,
           -- looked for among its 20 newest jobs of earlier transactions (job_tenant_created_idx; none
           -- there: it has no backlog here).
           (select e.run_at
              from (select j.queue_entry_id, j.status, j.queue_name, j.priority
                      from job as j
                     where j.tenant_id = grp.tenant_id and j.created_at < now()
                     order by j.created_at desc, j.id desc limit 20) as recent
              join graphile_worker._private_jobs as e on e.id = recent.queue_entry_id
             where recent.status = 'PENDING' and recent.queue_name = grp.queue_name and recent.priority = grp.priority
               and e.run_at <= now() + interval '1 minute'
             order by e.run_at desc limit 1) as last_turn
      from (select distinct tenant_id, queue_name, priority from fresh) as grp
  )
  update graphile_worker._private_jobs as entry
     set run_at = greatest(grp.head, coalesce(grp.last_turn, '-infinity')) + make_interval(secs => fresh.k * 0.0001 / grp.weight)
    from fresh
    join grp on grp.tenant_id = fresh.tenant_id and grp.queue_name = fresh.queue_name and grp.priority = fresh.priority
   where entry.id = fresh.queue_entry_id and entry.locked_at is null and entry.run_at <= now();
  return null;
end
$$;

create trigger job_take_turns after insert on job referencing new table as new_rows
  for each statement execute function job_take_turns();

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
