--! Previous: sha1:429ff9b7ac96cbf21454ef9056c4ea83474a47b7
--! Hash: sha1:14ead724f850aa456bf306a66ca7372d07f01e18
--! Message: tags and search: job.tags, containment and error-text indexes

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
