--! Previous: sha1:f73b0dd4a93db4d06a86d6c9a1452ea975ab5da5
--! Hash: sha1:b2ef10babc046c72e2e7656977eba7622e3ab2d7
--! Message: remote workers: a worker row's lease and tenant

-- A worker outside jobwire's processes (src/remote-workers/) is a row of
-- `worker` too: its heartbeat is its lease. lease_seconds is null for an
-- in-process worker (alive by its session lock and its heartbeat, see
-- src/worker/liveness.ts); for a remote worker, the worker is dead once
-- last_heartbeat_at + lease_seconds has passed, and its jobs are released
-- exactly as a dead in-process worker's are.
alter table worker
  add column lease_seconds integer,
  add column tenant_id text,
  add constraint worker_lease_seconds_bounded check (lease_seconds between 1 and 600),
  add constraint worker_tenant_only_remote check (tenant_id is null or lease_seconds is not null);

comment on column worker.lease_seconds is 'Remote workers only: the worker is alive while last_heartbeat_at + lease_seconds has not passed.';
comment on column worker.tenant_id is 'Remote workers only: the tenant whose jobs it claims; null for every tenant (in-process workers, admin keys).';
