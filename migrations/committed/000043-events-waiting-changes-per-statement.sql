--! Previous: sha1:e94e441443f94825e304bfd15464bf1ea522bfa6
--! Hash: sha1:00531c83d096af48bb9c4e5888065bc51019a327
--! Message: events: a waiting reason's change writes its event per statement, not per row

-- A queued job's waiting reason changing (NO_WORKER as the last worker of a
-- type leaves, QUEUE_PAUSED as a queue pauses, ...) wrote its event from a row
-- trigger: one insert into job_event per job, each firing job_event's
-- statement trigger. Over a backlog that is quadratic: 5,000 jobs took 27-33 s
-- (1.9 s per statement), and the last worker leaving 100,000 queued jobs held
-- its shutdown for 134 s. The events are now written by job_after_update with
-- the status changes, in one insert per statement; same rows, same messages.
--
-- job_after_update joins its transition tables (new_rows, old_rows) on id.
-- Its plans are cached from the hot path's small statements, where a nested
-- loop is right; reused for a statement of 5,000 rows, that loop is quadratic:
-- the trigger took 38 s of a 40 s update. Hash (or merge) joins cost the same
-- for a few rows and stay linear (0.12 s for 5,000): enable_nestloop off for
-- the function only.
drop trigger job_after_waiting_change on job;
drop function job_after_waiting_change();

create or replace function job_after_update() returns trigger language plpgsql as $$
begin
  insert into job_event (job_id, status, previous_status, message, created_at)
  select job_id, status, previous_status, message, created_at
    from (
      -- the RUNNING that a queued → COMPLETED update passed through
      select n.id as job_id, 'RUNNING'::job_status as status, o.status as previous_status,
             job_event_message(null) as message, n.started_at as created_at, 0 as pass
        from new_rows n join old_rows o on o.id = n.id
       where n.status = 'COMPLETED' and o.status in ('PENDING', 'SCHEDULED', 'RETRYING')
      union all
      select n.id, n.status,
             case when n.status = 'COMPLETED' and o.status in ('PENDING', 'SCHEDULED', 'RETRYING') then 'RUNNING' else o.status end,
             job_event_message(case when n.status in ('FAILED', 'DEAD_LETTER', 'RETRYING') then n.error_message end),
             clock_timestamp(), 1
        from new_rows n join old_rows o on o.id = n.id
       where n.status is distinct from o.status
      union all
      -- a queued job's waiting reason changed (its status did not)
      select n.id, n.status, o.status,
             job_event_message(job_waiting_message(n.waiting_reason, n.queue_name, n.concurrency_key, n.concurrency_limit)),
             clock_timestamp(), 1
        from new_rows n join old_rows o on o.id = n.id
       where n.waiting_reason is distinct from o.waiting_reason and n.status = o.status
    ) as change
   order by pass;
  -- Changes that write no status event (progress, a waiting reason) are a hint
  -- to jobUpdated watchers (sent on commit; listeners read the row itself).
  perform pg_notify('jobwire_job', n.id::text)
     from new_rows n join old_rows o on o.id = n.id
    where n.status is not distinct from o.status;
  return null;
end
$$ set enable_nestloop = off;
