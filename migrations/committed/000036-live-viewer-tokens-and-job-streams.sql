--! Previous: sha1:264e25f484b5fb46a058c8ff52cac5febe58076e
--! Hash: sha1:bc459bebfcf6b0134c2dec36bc6601ed91e66514
--! Message: live: viewer tokens' signing secret, job output streams

-- Viewer tokens (src/auth/viewer-tokens.ts) are signed JWTs that let a browser
-- read a few jobs. Every API process verifies them, so the key is shared in
-- the database rather than configured: one row, made by the first process that
-- needs it (256 random bits from Node's crypto).
create table viewer_token_secret (
  id smallint not null default 1,
  secret bytea not null,
  created_at timestamptz not null default now(),
  constraint viewer_token_secret_pkey primary key (id),
  constraint viewer_token_secret_one_row check (id = 1),
  constraint viewer_token_secret_length check (length(secret) = 32)
);

comment on table viewer_token_secret is 'The HS256 key of viewer tokens (src/auth/viewer-tokens.ts); one row. Deleting it invalidates every viewer token once API processes restart.';

-- Output streams (src/jobs/job-streams.ts): what a handler writes with
-- ctx.stream(name).write(chunk), in order. sequence counts from 1 per job and
-- stream without gaps (one writer per attempt, batches committed in order), so
-- a reader resumes after the last sequence it has. A batch notifies
-- jobwire_stream with '<job id>:<stream name>' on commit. The rows go with
-- their job (retention deletes the job).
create table job_stream_chunk (
  job_id uuid not null,
  stream_name text not null,
  sequence integer not null,
  chunk jsonb not null,
  created_at timestamptz not null default now(),
  constraint job_stream_chunk_pkey primary key (job_id, stream_name, sequence),
  constraint job_stream_chunk_job_id_fkey foreign key (job_id) references job(id) on delete cascade,
  constraint job_stream_chunk_name_format check (stream_name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  constraint job_stream_chunk_sequence_positive check (sequence >= 1)
);

comment on table job_stream_chunk is 'Output streams of jobs: ctx.stream(name).write(chunk), read live by the jobStream subscription.';
