--! Previous: sha1:00531c83d096af48bb9c4e5888065bc51019a327
--! Hash: sha1:4206d9e68911ad9bc269885082ec231aa5b5f854
--! Message: quota: per-tenant limits set by the operator (queued jobs, schedules, shortest cron interval, priority range)

-- Per-tenant limits (docs/quotas.md), set by the operator (`jobwire tenants
-- set-quota`); a null column is no limit, a tenant without a row has none.
create table tenant_quota (
  tenant_id text not null,
  max_queued_jobs integer,
  max_schedules integer,
  min_cron_interval_seconds integer,
  min_priority integer,
  max_priority integer,
  updated_at timestamptz not null default now(),
  constraint tenant_quota_pkey primary key (tenant_id),
  constraint tenant_quota_tenant_not_empty check (tenant_id <> ''),
  constraint tenant_quota_max_queued_jobs_not_negative check (max_queued_jobs >= 0),
  constraint tenant_quota_max_schedules_not_negative check (max_schedules >= 0),
  constraint tenant_quota_min_cron_interval_positive check (min_cron_interval_seconds >= 1),
  constraint tenant_quota_priority_range check (min_priority between -1000 and 1000 and max_priority between -1000 and 1000 and min_priority <= max_priority)
);

comment on table tenant_quota is 'Per-tenant limits checked when jobs and schedules are created (docs/quotas.md); null = unlimited.';

-- A tenant's queued jobs (PENDING, SCHEDULED, RETRYING: QUEUED_STATUSES), counted
-- by the check below and by tenantQuota.queuedJobCount.
create index job_tenant_queued_idx on job (tenant_id) where status in ('PENDING', 'SCHEDULED', 'RETRYING');

-- Refuses (SQLSTATE JW010, detail: a JSON object naming the limit) when the
-- tenant's queued jobs, counting `added` jobs the calling statement just made
-- queued, exceed its max_queued_jobs. Exact under concurrency: the count runs
-- after a per-tenant transaction lock, in a fresh snapshot (a volatile
-- function's statements each take one under READ COMMITTED), so it sees every
-- create that held the lock before, committed; the lock is held until commit.
create function tenant_quota_check_queued(p_tenant_id text, p_added integer) returns void
language plpgsql volatile as $$
declare
  quota integer;
  queued bigint;
begin
  select max_queued_jobs into quota from tenant_quota where tenant_id = p_tenant_id;
  if quota is null then
    return;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('jobwire.tenant_quota.queued:' || p_tenant_id, 0));
  -- Counts at most quota + 1 rows: the check costs the limit, not the backlog.
  select count(*) into queued
    from (select from job where tenant_id = p_tenant_id and status in ('PENDING', 'SCHEDULED', 'RETRYING') limit quota + 1) as counted;
  if queued > quota then
    select count(*) into queued from job where tenant_id = p_tenant_id and status in ('PENDING', 'SCHEDULED', 'RETRYING');
    raise exception using
      errcode = 'JW010',
      message = format('tenant quota exceeded: maxQueuedJobs is %s and the tenant has %s queued jobs; this would add %s', quota, queued - p_added, p_added),
      detail = json_build_object('limit', 'maxQueuedJobs', 'value', quota, 'current', queued - p_added, 'requested', p_added)::text;
  end if;
end
$$;

-- Refuses (JW010) a job priority outside the tenant's [min_priority, max_priority].
create function tenant_quota_check_priority(p_tenant_id text, p_lowest integer, p_highest integer) returns void
language plpgsql stable as $$
declare
  quota tenant_quota;
begin
  select * into quota from tenant_quota where tenant_id = p_tenant_id;
  if quota.min_priority is not null and p_lowest < quota.min_priority then
    raise exception using
      errcode = 'JW010',
      message = format('tenant quota exceeded: minPriority is %s; priority %s is below it', quota.min_priority, p_lowest),
      detail = json_build_object('limit', 'minPriority', 'value', quota.min_priority, 'current', p_lowest, 'requested', 1)::text;
  end if;
  if quota.max_priority is not null and p_highest > quota.max_priority then
    raise exception using
      errcode = 'JW010',
      message = format('tenant quota exceeded: maxPriority is %s; priority %s is above it', quota.max_priority, p_highest),
      detail = json_build_object('limit', 'maxPriority', 'value', quota.max_priority, 'current', p_highest, 'requested', 1)::text;
  end if;
end
$$;

-- Every insert of jobs (createJob, createJobs, a kind's create, add_job, a
-- schedule's tick, ctx.spawn) is checked here, once per statement and tenant.
-- With no tenant_quota row at all it costs one probe of an empty table.
create function job_quota_after_insert() returns trigger language plpgsql as $$
declare
  made record;
begin
  if not exists (select from tenant_quota) then
    return null;
  end if;
  -- Tenants in a fixed order: two statements that make jobs of the same tenants lock them alike.
  for made in
    select n.tenant_id, count(*)::integer as added, min(n.priority) as lowest, max(n.priority) as highest
      from new_rows n join tenant_quota q on q.tenant_id = n.tenant_id
     group by n.tenant_id order by n.tenant_id
  loop
    perform tenant_quota_check_priority(made.tenant_id, made.lowest, made.highest);
    perform tenant_quota_check_queued(made.tenant_id, made.added);
  end loop;
  return null;
end
$$;

create trigger job_quota_after_insert after insert on job
  referencing new table as new_rows for each statement execute function job_quota_after_insert();

-- A manual retry (or a rerun from a step) queues an ended job again: counted
-- against max_queued_jobs as a create is. (A worker's moves back to queued,
-- RUNNING to RETRYING or to a durable wait, are never refused.)
create function job_quota_after_retry() returns trigger language plpgsql as $$
begin
  perform tenant_quota_check_queued(new.tenant_id, 1);
  return null;
end
$$;

create trigger job_quota_after_retry after update of status on job for each row
  when (old.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED') and new.status in ('PENDING', 'SCHEDULED', 'RETRYING'))
  execute function job_quota_after_retry();

-- max_schedules: checked after the insert, under a per-tenant lock, as max_queued_jobs is.
create function schedule_quota_after_insert() returns trigger language plpgsql as $$
declare
  quota integer;
  schedules bigint;
begin
  select max_schedules into quota from tenant_quota where tenant_id = new.tenant_id;
  if quota is null then
    return null;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('jobwire.tenant_quota.schedules:' || new.tenant_id, 0));
  select count(*) into schedules from schedule where tenant_id = new.tenant_id;
  if schedules > quota then
    raise exception using
      errcode = 'JW010',
      message = format('tenant quota exceeded: maxSchedules is %s and the tenant has %s schedules', quota, schedules - 1),
      detail = json_build_object('limit', 'maxSchedules', 'value', quota, 'current', schedules - 1, 'requested', 1)::text;
  end if;
  return null;
end
$$;

create trigger schedule_quota_after_insert after insert on schedule for each row execute function schedule_quota_after_insert();
