--! Previous: sha1:40b19ef4e8a5730c5849ed0e03cfe83d37c2499e
--! Hash: sha1:0769d2804493b5ae85a4f64eda919739a09a1cb6
--! Message: flow: paused queues; a concurrency slot that frees up wakes a waiting job

-- A paused queue starts no job; its jobs wait (waiting_reason QUEUE_PAUSED,
-- their queue entries parked) until it is resumed. A row per paused queue, so
-- the pause outlives every process.
create table paused_queue (
  queue_name text        not null primary key,
  paused_at  timestamptz not null default now(),
  paused_by  text,
  constraint paused_queue_name_format check (queue_name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$')
);

-- A keyed job that stops RUNNING frees a slot of its key (in its tenant): the
-- jobs waiting for one are due at once instead of at their next re-check.
create function job_wake_concurrency_waiters() returns trigger language plpgsql as $$
begin
  update graphile_worker._private_jobs as entry set run_at = now()
    from (select queue_entry_id from job
           where tenant_id = old.tenant_id and concurrency_key = old.concurrency_key and waiting_reason = 'CONCURRENCY_LIMIT'
             and status in ('PENDING', 'SCHEDULED', 'RETRYING')
           order by priority desc, created_at
           limit old.concurrency_limit) as waiting
   where entry.id = waiting.queue_entry_id and entry.locked_at is null and entry.run_at > now();
  if found then
    perform pg_notify('jobs:insert', '');
  end if;
  return null;
end
$$;

create trigger job_wake_concurrency_waiters after update of status on job
  for each row when (old.concurrency_key is not null and old.status = 'RUNNING' and new.status <> 'RUNNING')
  execute function job_wake_concurrency_waiters();
