--! Previous: sha1:8eae562ff91ae166e1bf7d6ee3b12a44f4bbb8fb
--! Hash: sha1:9f26f7adacc1c5d496929994cd370719def3fa32
--! Message: imports: ix_import_job_status, the status index of import jobs

-- ix_import_job_status (seed 001's status index). An import's status is
-- job.status (the core's status machine), so the index is on job, partial to
-- import jobs: importJobs(status) and the repository's list_by_status read it,
-- newest first. Its own migration: it names the enum value 'IMPORT', which
-- the previous migration added and could not use in the same transaction.
create index ix_import_job_status on job (status, created_at desc, id desc) where kind = 'IMPORT';
