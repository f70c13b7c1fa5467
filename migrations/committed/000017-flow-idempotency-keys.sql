--! Previous: sha1:7ff6a705ee2fccebdb98c620b65d8ca4a8c42389
--! Hash: sha1:454e2a2805acb1c47099c4f4e536eaab57adb0af
--! Message: flow: idempotency keys

-- Unique jobs: a create that names an idempotency key already held by a job
-- of the caller's tenant returns that job instead of creating another one.
-- Keys are per tenant: another tenant's key neither answers nor blocks a
-- create. The key lives in its own table (one row per tenant and key, the
-- primary key is what makes two racing API processes agree), so jobs without
-- a key pay nothing.
create table job_idempotency_key (
  -- The tenant of the key's job (set with the key, in the creating transaction).
  tenant_id       text        not null,
  idempotency_key text        not null,
  -- Deferred: the key is claimed before its job row is inserted, in one transaction.
  job_id          uuid        not null references job (id) on delete cascade deferrable initially deferred,
  -- When the key is free again once its job finished: null = never (while the
  -- job exists), 0 = at once ("while active only"), n = n ms after it finished.
  free_after_ms   bigint,
  created_at      timestamptz not null default now(),
  primary key (tenant_id, idempotency_key),
  constraint job_idempotency_key_format check (length(idempotency_key) between 1 and 200),
  constraint job_idempotency_key_free_after_not_negative check (free_after_ms >= 0)
);

create index job_idempotency_key_job_idx on job_idempotency_key (job_id);
