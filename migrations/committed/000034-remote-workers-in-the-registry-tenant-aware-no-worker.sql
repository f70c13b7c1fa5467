--! Previous: sha1:63522a74027bdaa651b46cf7c5b4a41dd0d3cb93
--! Hash: sha1:429ff9b7ac96cbf21454ef9056c4ea83474a47b7
--! Message: remote workers in the registry: a tenant's worker serves that tenant's jobs (NO_WORKER)

-- A remote worker registered for a tenant (worker.tenant_id) claims only that
-- tenant's jobs (job-state/lease.ts), so it serves a job type for that tenant
-- only: another tenant's jobs of the type still wait with NO_WORKER until a
-- worker that may run them registers. In-process workers and an admin's
-- remote workers (tenant_id null) serve every tenant, as before.
drop function job_served(text, text);
create function job_served(job_type text, queue_name text, tenant_id text) returns boolean
  language sql stable
  as $$
    select exists (
      select 1 from worker_job_type s join worker w on w.id = s.worker_id
       where s.job_type = job_served.job_type
         and (s.queue_names is null or job_served.queue_name = any (s.queue_names))
         and (w.tenant_id is null or w.tenant_id = job_served.tenant_id))
  $$;

create or replace function job_before_queue_no_worker() returns trigger language plpgsql as $$
begin
  if new.status in ('PENDING', 'SCHEDULED') and not job_served(new.job_type, new.queue_name, new.tenant_id) then
    new.waiting_reason := 'NO_WORKER';
  end if;
  return new;
end
$$;

create or replace function worker_job_type_after_serve() returns trigger language plpgsql as $$
declare
  served_tenant text := (select w.tenant_id from worker w where w.id = new.worker_id);
begin
  update job set waiting_reason = null
   where waiting_reason = 'NO_WORKER'
     and job_type = new.job_type
     and (new.queue_names is null or queue_name = any (new.queue_names))
     and (served_tenant is null or job.tenant_id = served_tenant)
     and status in ('PENDING', 'SCHEDULED', 'RETRYING');
  return null;
end
$$;

create or replace function worker_job_type_after_leave() returns trigger language plpgsql as $$
begin
  update job set waiting_reason = 'NO_WORKER'
   where job_type = old.job_type
     and waiting_reason is null
     and status in ('PENDING', 'SCHEDULED', 'RETRYING')
     and (old.queue_names is null or queue_name = any (old.queue_names))
     and not job_served(job.job_type, job.queue_name, job.tenant_id);
  return null;
end
$$;
