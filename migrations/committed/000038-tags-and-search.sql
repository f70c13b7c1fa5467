--! Previous: sha1:2b94e00e899a92dbb2a1b0ceb039b5027036a528
--! Hash: sha1:b1005f6411a267226f3d9874930ea79811a75ec5
--! Message: tags and search: job.tags, containment and error-text indexes; retention per status and queue

-- Tags: short labels a job is about ("customer:42", "nightly"), set at create,
-- by schedules and by handlers (ctx.addTags). The bounds live here too, so no
-- write path (add_job, a raw insert) can store what the API refuses:
-- at most 20 tags of 1-64 characters, letters, digits and _.:=/- , starting with
-- a letter or digit (src/jobs/tags.ts says the same in TypeScript).
create function job_tags_valid(tags text[]) returns boolean
  language sql immutable
  as $$
    select cardinality(tags) <= 20
       and coalesce(bool_and(tag ~ '^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,63}$'), true)
      from unnest(tags) as tag
  $$;

alter table job add column tags text[] not null default '{}'
  constraint job_tags_check check (job_tags_valid(tags));

-- Search (jobs(filter)): tags (all of the given: tags @> array), metadata and
-- payload containment (jsonb @>; jsonb_path_ops is smaller and faster than the
-- default opclass and serves exactly @>), and text in the error (ILIKE '%x%',
-- served by pg_trgm's trigram index, already installed for imports).
create index job_tags_idx on job using gin (tags);
create index job_metadata_idx on job using gin (metadata jsonb_path_ops);
create index job_payload_idx on job using gin (payload jsonb_path_ops);
create index job_error_message_trgm_idx on job using gin (error_message gin_trgm_ops);
-- createdBy: an audit of one principal's jobs, newest first.
create index job_created_by_idx on job (tenant_id, created_by, created_at desc, id desc) where created_by is not null;

-- Retention per status and queue (JOB_RETENTION, src/jobs/retention.ts): one
-- batch of finished jobs past their rule's age, oldest first. A queue's own rule
-- for a status wins over the status's rule, which wins over default_seconds.
-- Only finished statuses are ever selected (never a waiting or running job),
-- and rows another transaction holds are skipped, not waited for.
-- created_before bounds the scan: nothing created since the shortest rule can be due.
create function purge_jobs_by_rules(rules jsonb, default_seconds bigint, created_before timestamptz, batch_size integer) returns integer
  language sql
  as $$
    with doomed as (
      select j.id from job j
       where j.created_at < created_before
         and j.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
         and coalesce(j.completed_at, j.failed_at, j.cancelled_at) < now() - make_interval(secs => coalesce(
               (select (r->>'seconds')::bigint from jsonb_array_elements(rules) r where r->>'status' = j.status::text and r->>'queueName' = j.queue_name),
               (select (r->>'seconds')::bigint from jsonb_array_elements(rules) r where r->>'status' = j.status::text and r->>'queueName' is null),
               default_seconds))
       order by j.created_at
       limit batch_size
       for update skip locked
    ), deleted as (
      delete from job where id in (select id from doomed) returning 1
    )
    select count(*)::integer from deleted
  $$;
