--! Previous: sha1:a9469a5a3f6d3b43c8768fde204a8b333631e0c6
--! Hash: sha1:6ac6889a9ff81d292cc6a469df1601ac37e69ebc
--! Message: flow: debounce

-- A job created with a debounce key (per tenant and job type) is the one job
-- of its key while it has not started: a create with the key replaces its
-- payload and moves its run time (never past debounce_deadline, the first
-- create plus maxWaitMs). The index makes "one unstarted job per key" hold
-- whatever the creates race (they also serialise on an advisory lock).
alter table job
  add column debounce_key text,
  add column debounce_deadline timestamptz;

create unique index job_debounce_key_idx on job (tenant_id, job_type, debounce_key)
  where debounce_key is not null and status in ('PENDING', 'SCHEDULED');
