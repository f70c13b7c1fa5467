--! Previous: sha1:a1c16a297fb8ecfd5bd96af2b945ac52293ab6e0
--! Hash: sha1:c689f2e3503dadb8327b28e96eaafe5dcde565f1
--! Message: core: fewer writes per job status change

-- Less work per status change of a job (bench:throughput, where each batch of
-- 50 completions wrote 50 job rows and 100 events).
--
-- job_queue_status_idx leaves COMPLETED out, as job_status_idx does since
-- 000010: a status change is never a HOT update, so every index that takes the
-- new row version costs each completion an index insert. It keeps serving the
-- few active, failed and cancelled jobs per queue; queue stats count the whole
-- table either way.
drop index job_queue_status_idx;
create index job_queue_status_idx on job (queue_name, status) where status <> 'COMPLETED';

-- job_event.job_id loses its foreign key. Events are written only by the
-- triggers of job and job_step, in the transaction that changes the job, so the
-- check could never fail; it cost one lookup of the job per event (about a
-- fifth of a batch completion). A deleted job's events still go with it,
-- deleted by this trigger instead of the cascade.
alter table job_event drop constraint job_event_job_id_fkey;

create function job_after_delete() returns trigger language plpgsql as $$
begin
  delete from job_event where job_id in (select id from old_rows);
  return null;
end
$$;

create trigger job_after_delete after delete on job
  referencing old table as old_rows
  for each statement execute function job_after_delete();
