--! Previous: sha1:8f0a30df83ed507b93d3f2aaef1f5ce7aa66a2af
--! Hash: sha1:4b1039806897c2866dc069d1a1a19be91f5b5353
--! Message: imports: ix_import_job_status, the status index of import jobs

-- ix_import_job_status (seed 001's status index). An import's status is
-- job.status (the core's status machine), so the index is on job, partial to
-- import jobs: importJobs(status) and the repository's list_by_status read it,
-- newest first. Its own migration: it names the enum value 'IMPORT', which
-- the previous migration added and could not use in the same transaction.
create index ix_import_job_status on job (status, created_at desc, id desc) where kind = 'IMPORT';
