--! Previous: sha1:f53811820e2b00c8dba4a9027feedd9b4988bab7
--! Hash: sha1:e94e441443f94825e304bfd15464bf1ea522bfa6
--! Message: logs: job log lines

-- Job logs (src/jobs/job-logs.ts): what a handler logs with ctx.log.info/warn/
-- error(message, fields), kept as long as the job (deleted with it). sequence
-- counts from 1 per job without gaps (one writer per attempt, batches
-- committed in order), so a reader resumes after the last sequence it has.
-- attempt is the job's retry_count + 1 when the line was logged. A batch
-- notifies jobwire_log with the job id on commit.
create table job_log_line (
  job_id uuid not null,
  sequence integer not null,
  attempt integer not null,
  level text not null,
  message text not null,
  fields jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint job_log_line_pkey primary key (job_id, sequence),
  constraint job_log_line_job_id_fkey foreign key (job_id) references job(id) on delete cascade,
  constraint job_log_line_level_allowed check (level in ('INFO', 'WARN', 'ERROR')),
  constraint job_log_line_fields_object check (jsonb_typeof(fields) = 'object'),
  constraint job_log_line_sequence_positive check (sequence >= 1),
  constraint job_log_line_attempt_positive check (attempt >= 1)
);

comment on table job_log_line is 'Job logs: ctx.log.info/warn/error(message, fields), read by Job.logs and the jobLogs subscription.';
