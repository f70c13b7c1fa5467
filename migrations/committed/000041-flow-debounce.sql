--! Previous: sha1:4c2c3e4dc0794077efd069a64b4d37f124c6c088
--! Hash: sha1:ede5d15fec80265e53cdbda1bdf5174b7b855cf0
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
