--! Previous: sha1:0769d2804493b5ae85a4f64eda919739a09a1cb6
--! Hash: sha1:c79d9882515f1a9c5ebd9edd5c4eaf8314397592
--! Message: flow: recurring schedules

-- A schedule creates one ordinary job per tick of its cron expression. Workers
-- take due schedules with FOR UPDATE SKIP LOCKED, and schedule_tick's primary
-- key makes a second job for one tick impossible whatever the number of workers.
create table schedule (
  id                 uuid primary key default gen_random_uuid(),
  -- The tenant that owns the schedule and every job it creates; only it (and
  -- admin) sees or changes the schedule.
  tenant_id          text        not null,
  cron               text        not null,
  timezone           text        not null default 'UTC',
  -- A createJob input (CreateJobInput), validated when the schedule is saved and again per tick.
  job_template       jsonb       not null,
  -- Ticks found more than SCHEDULE_MISSED_AFTER_MS late (nothing ran them):
  -- SKIP none, RUN_ONCE one job for all of them, RUN_EACH one per tick (the latest missed_tick_limit).
  missed_tick_policy text        not null default 'SKIP',
  missed_tick_limit  integer     not null default 10,
  paused             boolean     not null default false,
  -- The next tick not yet run; null while paused.
  next_run_at        timestamptz,
  -- The principal that created it; its jobs carry it as their created_by.
  created_by         text        not null,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint schedule_missed_tick_policy check (missed_tick_policy in ('SKIP', 'RUN_ONCE', 'RUN_EACH')),
  constraint schedule_missed_tick_limit_range check (missed_tick_limit between 1 and 1000),
  constraint schedule_job_template_is_object check (jsonb_typeof(job_template) = 'object'),
  constraint schedule_tenant_not_empty check (tenant_id <> '')
);

create index schedule_due_idx on schedule (next_run_at) where not paused;
create index schedule_tenant_created_idx on schedule (tenant_id, created_at, id);

create table schedule_tick (
  schedule_id uuid        not null references schedule (id) on delete cascade,
  tick_at     timestamptz not null,
  -- Null for a missed tick that was skipped (SKIP) or folded into another (RUN_ONCE).
  job_id      uuid references job (id) on delete set null,
  created_at  timestamptz not null default now(),
  primary key (schedule_id, tick_at)
);

create index schedule_tick_job_idx on schedule_tick (job_id) where job_id is not null;
