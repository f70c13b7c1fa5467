--! Previous: sha1:334f92c1a96140da7d5c17227834af7ff00795d2
--! Hash: sha1:a1c16a297fb8ecfd5bd96af2b945ac52293ab6e0
--! Message: core: a job keeps its queue entry's id; queue entries without job keys

-- A job keeps the id of the graphile-worker queue entry that runs it, instead
-- of giving that entry a job key. A key costs every fetch and completion of an
-- entry a write to graphile-worker's key index (bench:throughput: about a tenth
-- of each fetch), and the id also tells a stale entry from the current one: a
-- task whose entry is not the job's queue_entry_id does not run the job.
alter table job add column queue_entry_id bigint;

comment on column job.queue_entry_id is
  'graphile_worker.jobs.id of the run_job task that runs this job; set when it is queued, again on every retry';

-- Jobs queued before this migration: their entries are found by key. (The
-- guard is for graphile-migrate's shadow database, which has no graphile_worker
-- schema; the service always installs graphile-worker's schema first.)
do $$
begin
  if to_regclass('graphile_worker._private_jobs') is not null then
    update job set queue_entry_id = entry.id
      from graphile_worker._private_jobs as entry
     where entry.key = job.id::text;
  end if;
end
$$;
