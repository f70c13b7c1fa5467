--! Previous: sha1:966fe566c89dff262445b738b28209aacda8f005
--! Hash: sha1:b95626cb701b5d6e5eeb9ce15926ee8be41b7201
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
