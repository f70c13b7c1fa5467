--! Previous: sha1:0ea92c246be48e8594cd7ef703ad6f0c792f9754
--! Hash: sha1:c64f58870e663325ac4e25b63c72ba6a9b6ed6b8
--! Message: fairness: the last-turn look once per lane, from job_tenant_turn_idx whatever the statistics when planned

-- A create of many jobs into a lane with a backlog spent up to 2 s in job_turns
-- (bench:pressure active_readers: 568 ms a create statement at the mean, 20,000
-- buffers each; auto_explain): the CTE `based`, referenced once, was inlined
-- into the final join, so its last-turn look ran once per job of the statement
-- (loops=200) rather than once per lane; and that look, planned once per
-- connection (force_generic_plan) while the tables were small, read the
-- tenant's whole queued backlog through job_tenant_queued_idx and sorted it,
-- not the newest entry of job_tenant_turn_idx. Now `based` is materialized,
-- and the look is a function of its own whose plan has no sort to choose
-- (enable_sort off: the only plan left walks job_tenant_turn_idx from the
-- newest entry and stops at the first). Same answers.
create function job_tenant_last_entry(tenant_id text, queue_name text, priority integer) returns bigint
  language plpgsql stable
  -- Planned once per connection, and without a sort: job_tenant_turn_idx in its order is the one plan
  -- that needs none, whatever the statistics were when it was planned.
  set plan_cache_mode = force_generic_plan
  set enable_sort = off
  set enable_bitmapscan = off
as $$
begin
  return (select j.queue_entry_id from job as j
           where j.tenant_id = job_tenant_last_entry.tenant_id and j.queue_name = job_tenant_last_entry.queue_name
             and j.priority = job_tenant_last_entry.priority
             and j.status = 'PENDING' and (j.waiting_reason is null or j.waiting_reason = 'NO_WORKER')
           order by j.queue_entry_id desc limit 1);
end
$$;

comment on function job_tenant_last_entry(text, text, integer) is 'The queue entry of the tenant''s newest due PENDING job in this queue and priority: its last turn (job_turns, docs/fairness.md).';

create or replace function job_turns(tenant_ids text[], queue_names text[], priorities integer[], run_ats timestamptz[])
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
  first_run_at timestamptz;
begin
  if current_setting('jobwire.tenant_turns', true) = 'off' then
    return run_ats;
  end if;
  -- One job (most creates): nothing but the probe when nothing is queued at its priority, the
  -- case of a lone job into an idle worker, whose start this must not delay.
  if cardinality(run_ats) = 1 then
    if run_ats[1] > now() then
      return run_ats;
    end if;
    -- As the lane's probe below: in index order, so that it stops at the first entry.
    select e.run_at into first_run_at from graphile_worker._private_jobs as e
     where e.is_available and e.priority = -priorities[1] order by e.run_at limit 1;
    if first_run_at is null or first_run_at > now() + interval '1 minute' then
      return run_ats;
    end if;
  end if;
  -- Joins only against the few lanes (tenant, queue, priority): the generic plan guesses 10 specs
  -- and would nest-loop specs against specs.
  with spec as (
    select s.ord, s.tenant_id, s.queue_name, s.priority, s.run_at,
           -- Only jobs due when created take a turn (a scheduled job keeps its time).
           s.run_at is null or s.run_at <= now() as due,
           row_number() over (partition by s.tenant_id, s.queue_name, s.priority, s.run_at is null or s.run_at <= now() order by s.ord) - 1 as k
      from unnest(tenant_ids, queue_names, priorities, run_ats) with ordinality as s(tenant_id, queue_name, priority, run_at, ord)
  ), lane as materialized (
    -- Materialized: placed reads first_run_at three times, and each would probe again.
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
  ), based as materialized (
    -- Materialized: referenced once, it was inlined into the join below, whose plan ran the
    -- last-turn look once per job of the statement instead of once per lane.
    select placed.*,
           case when placed.busy then
             greatest(least(now(), placed.first_run_at),
                      (select e.run_at from graphile_worker._private_jobs as e
                        where e.id = job_tenant_last_entry(placed.tenant_id, placed.queue_name, placed.priority)
                          and e.run_at <= now() + interval '1 minute') + placed.step)
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

comment on function job_turns(text[], text[], integer[], timestamptz[]) is 'The run_at of new jobs'' queue entries: each tenant''s turn in its queue and priority (docs/fairness.md); the given run_at when nothing is queued there, or where jobwire.tenant_turns is off.';
