--! Previous: sha1:8b0e9223551e44ab4d97f53c471e037c00e77940
--! Hash: sha1:47527ba6135aff2b95a55a392aec4e9433935716
--! Message: fairness: turns on by default (jobwire.tenant_turns = off turns them off); a lone job pays one probe

-- Turns are now on unless the operator turns them off (`alter database ... set
-- jobwire.tenant_turns = off`): the cost that kept them off was the whole turn
-- query run for a lone create. A create of one job due now, with nothing queued
-- at its priority (a lone job into an idle worker), now pays one probe of
-- graphile-worker's index and returns; the probe of the first entry in line is
-- made once per lane, not once per reference (docs/fairness.md).
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

comment on function job_turns(text[], text[], integer[], timestamptz[]) is 'The run_at of new jobs'' queue entries: each tenant''s turn in its queue and priority (docs/fairness.md); the given run_at when nothing is queued there, or where jobwire.tenant_turns is off.';
