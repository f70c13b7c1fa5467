--! Previous: sha1:9f26f7adacc1c5d496929994cd370719def3fa32
--! Hash: sha1:a9d661f1cc62c0b377386c92d117aa81c2f144c6
--! Message: core: job events written per statement from transition tables

-- job_event rows are written per statement, not per row: a worker claims and
-- completes jobs in batches (one UPDATE for many jobs), and one set-based
-- INSERT from the statement's transition tables costs far less than one
-- INSERT per row from a row trigger. Same rows, same messages, same
-- transaction; job_event's own statement trigger now notifies once per batch.

drop trigger job_after_write on job;
drop function job_after_write();

create function job_after_insert() returns trigger language plpgsql as $$
begin
  insert into job_event (job_id, status, previous_status, message)
  select n.id, n.status, null, job_event_message(null)
    from new_rows n;
  return null;
end
$$;

create trigger job_after_insert after insert on job
  referencing new table as new_rows
  for each statement execute function job_after_insert();

create function job_after_update() returns trigger language plpgsql as $$
begin
  insert into job_event (job_id, status, previous_status, message)
  select n.id, n.status, o.status,
         job_event_message(case when n.status in ('FAILED', 'DEAD_LETTER', 'RETRYING') then n.error_message end)
    from new_rows n join old_rows o on o.id = n.id
   where n.status is distinct from o.status;
  -- Changes that write no event (progress) are a hint to jobUpdated watchers
  -- (sent on commit; listeners read the row itself).
  perform pg_notify('jobwire_job', n.id::text)
     from new_rows n join old_rows o on o.id = n.id
    where n.status is not distinct from o.status;
  return null;
end
$$;

create trigger job_after_update after update on job
  referencing old table as old_rows new table as new_rows
  for each statement execute function job_after_update();

-- Only portfolio imports follow their job's status.
drop trigger portfolio_import_job_follow_status on job;
create trigger portfolio_import_job_follow_status after update of status on job
  for each row when (old.status is distinct from new.status and new.kind = 'PORTFOLIO_IMPORT')
  execute function portfolio_import_job_follow_status();
