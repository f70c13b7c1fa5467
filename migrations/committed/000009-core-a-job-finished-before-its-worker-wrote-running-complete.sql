--! Previous: sha1:a9d661f1cc62c0b377386c92d117aa81c2f144c6
--! Hash: sha1:04a5660354d421e3e028c71c69c3e6cef75c7c76
--! Message: core: a job finished before its worker wrote RUNNING completes in one write, through RUNNING

-- A job that its worker finishes before it has written RUNNING (see
-- worker/run-job.ts: the RUNNING write waits a moment, and a job done by then
-- is written once) goes from its queued status to COMPLETED in one update. It
-- passes through RUNNING: the worker gives the started_at it read from the
-- database when it took the job, and the event history gets the RUNNING event
-- (dated started_at) before the COMPLETED one, as if written separately.

create or replace function job_before_write() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    if new.status not in ('PENDING', 'SCHEDULED') then
      raise exception 'a new job must be PENDING or SCHEDULED, not %', new.status
        using errcode = 'JW001', detail = 'from=' || 'NONE' || ';to=' || new.status;
    end if;
    return new;
  end if;

  new.updated_at := now();
  if new.status is distinct from old.status then
    if new.status = 'COMPLETED' and job_status_transition_allowed(old.status, 'RUNNING') then
      if new.started_at is not distinct from old.started_at or new.started_at > now() then
        raise exception 'job % cannot go from % to COMPLETED unless it passes through RUNNING (started_at set to when it started)', old.id, old.status
          using errcode = 'JW001', detail = 'from=' || old.status || ';to=' || new.status;
      end if;
      new.completed_at := now();
      return new;
    end if;
    if not job_status_transition_allowed(old.status, new.status) then
      raise exception 'job % cannot go from % to %', old.id, old.status, new.status
        using errcode = 'JW001', detail = 'from=' || old.status || ';to=' || new.status;
    end if;
    case new.status
      when 'RUNNING' then new.started_at := now();
      when 'COMPLETED' then new.completed_at := now();
      when 'FAILED', 'DEAD_LETTER' then new.failed_at := now();
      when 'CANCELLED' then new.cancelled_at := now();
      when 'PENDING' then
        -- a manual retry: the job starts a new life, its history stays in job_event
        new.failed_at := null;
        new.cancelled_at := null;
        new.cancel_requested_at := null;
      else null;
    end case;
  end if;
  return new;
end
$$;

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
    ) as change
   order by pass;
  -- Changes that write no event (progress) are a hint to jobUpdated watchers
  -- (sent on commit; listeners read the row itself).
  perform pg_notify('jobwire_job', n.id::text)
     from new_rows n join old_rows o on o.id = n.id
    where n.status is not distinct from o.status;
  return null;
end
$$;
