--! Previous: sha1:6df9f66eb4d46c32e0c9bbb67fefd8b7779dc971
--! Hash: sha1:5a525938cfc34ab93d0acae8cd335b0456293d4f
--! Message: notify status changes through the event log only

-- Fewer notifications on the hot path. A status change already writes a
-- job_event row, and the API's event pump wakes jobUpdated watchers from the
-- log, so jobwire_job is notified only for changes that write no event
-- (progress, counters). job_event notifies once per statement, not per row.

create or replace function job_after_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.status is distinct from old.status then
    insert into job_event (job_id, status, previous_status, message)
    values (
      new.id, new.status,
      case when tg_op = 'UPDATE' then old.status end,
      job_event_message(case when new.status in ('FAILED', 'DEAD_LETTER', 'RETRYING') then new.error_message end)
    );
  else
    -- A hint only (sent on commit): listeners read the row itself.
    perform pg_notify('jobwire_job', new.id::text);
  end if;
  return null;
end
$$;

create or replace function job_step_after_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.status is distinct from old.status then
    insert into job_event (job_id, step_id, status, previous_status, message)
    values (
      new.job_id, new.id, new.status,
      case when tg_op = 'UPDATE' then old.status end,
      case when new.status = 'FAILED' then new.error_message end
    );
  else
    perform pg_notify('jobwire_job', new.job_id::text);
  end if;
  return null;
end
$$;

drop trigger job_event_after_insert on job_event;
create trigger job_event_after_insert after insert on job_event
  for each statement execute function job_event_after_insert();
