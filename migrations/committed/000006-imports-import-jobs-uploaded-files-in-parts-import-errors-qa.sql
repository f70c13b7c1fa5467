--! Previous: sha1:7d078f48968cedf616e3f0fa41517f84a168b0b3
--! Hash: sha1:8eae562ff91ae166e1bf7d6ee3b12a44f4bbb8fb
--! Message: imports: import jobs, uploaded files in parts, import errors, qa pairs with exact and trigram duplicate detection

-- ImportJob (seed 001): question/answer pairs imported from an uploaded CSV,
-- JSON (array or JSON Lines) or text file.
--
-- import_job extends job (class-table inheritance). Its status is job.status
-- (the core's status machine); the seed's ImportJobStatus maps onto it in
-- src/imports/status.ts. import_file holds the upload in 1 MiB parts so any
-- worker can stream it; import_error is every bad row (paginated), while
-- import_job.errors keeps the first 1,000 as the seed's JSON list.
-- qa_pair holds what imports store.

create extension if not exists pg_trgm;

-- The new value is not used in this transaction (Postgres forbids that); the
-- status index that needs it comes in the next migration.
alter type job_kind add value if not exists 'IMPORT';

create table import_job (
  job_id             uuid primary key references job (id) on delete cascade,
  source_type        text        not null,
  -- The uploaded file's name (its base name, as the client sent it).
  filename           text        not null,
  file_size          bigint      not null,
  -- Rows (records) in the file, counted before the first batch is written.
  total_rows         integer     not null default 0,
  processed_rows     integer     not null default 0,
  success_count      integer     not null default 0,
  error_count        integer     not null default 0,
  -- The first 1,000 bad rows as structured records; error_count stays exact
  -- and import_error has them all.
  errors             jsonb       not null default '[]',
  -- Batches written so far. processed_rows is the resume point: rows are
  -- written in file order, a batch at a time, so rows 1..processed_rows are
  -- done and a retry goes on after them.
  committed_batches  integer     not null default 0,
  constraint import_job_source_type_known check (source_type in ('csv', 'json', 'text')),
  constraint import_job_filename_length check (length(filename) between 1 and 255),
  constraint import_job_file_size_positive check (file_size > 0),
  constraint import_job_counts_not_negative
    check (total_rows >= 0 and success_count >= 0 and error_count >= 0 and committed_batches >= 0),
  constraint import_job_counts_add_up check (processed_rows = success_count + error_count),
  constraint import_job_errors_is_array check (jsonb_typeof(errors) = 'array')
);

-- The upload, in parts of at most 1 MiB (read and written one part at a time,
-- so neither side holds the whole file as one buffer).
create table import_file (
  job_id  uuid    not null references import_job (job_id) on delete cascade,
  part    integer not null,
  content bytea   not null,
  primary key (job_id, part),
  constraint import_file_part_not_negative check (part >= 0),
  constraint import_file_part_size check (length(content) between 1 and 1048576)
);

-- Every bad row of an import, in row order. job_id references job so the
-- GraphQL ImportJob pages through them as a relation of the job.
create table import_error (
  id          bigint generated always as identity primary key,
  job_id      uuid        not null references job (id) on delete cascade,
  type        text        not null,
  -- Row: the record's position among the file's records (1-based, header excluded).
  "row"       integer     not null,
  -- Line: where the record starts in the file (1-based).
  line        integer     not null,
  field       text,
  message     text        not null,
  raw_data    text,
  existing_id uuid,
  similarity  real,
  created_at  timestamptz not null default now(),
  constraint import_error_type_known
    check (type in ('ParseError', 'ImportValidationError', 'DuplicateDetectedError')),
  constraint import_error_position_positive check ("row" >= 1 and line >= 1)
);

create index import_error_job_idx on import_error (job_id, id);

-- Exact duplicates are questions equal after this: lower case, whitespace runs
-- collapsed to one space, trimmed. The one definition, used by qa_pair's
-- generated column and by the duplicate checks.
create function qa_normalise_question(question text) returns text
language sql immutable strict parallel safe as $$
  select lower(btrim(regexp_replace(question, '\s+', ' ', 'g')))
$$;

create table qa_pair (
  id                  uuid primary key default gen_random_uuid(),
  question            text        not null,
  answer              text        not null,
  tags                text[]      not null default '{}',
  -- The import that stored it (null once that job is purged) and its row there.
  import_job_id       uuid references import_job (job_id) on delete set null,
  import_row          integer,
  question_normalised text generated always as (qa_normalise_question(question)) stored,
  created_at          timestamptz not null default now(),
  constraint qa_pair_question_not_blank check (question_normalised <> ''),
  constraint qa_pair_answer_not_blank check (btrim(answer) <> ''),
  constraint qa_pair_import_row_positive check (import_row >= 1)
);

-- No two pairs ask the same question (exact duplicates, even across concurrent imports).
create unique index qa_pair_question_normalised_key on qa_pair (question_normalised);
-- A row of an import file is stored at most once (a retry never imports it twice).
create unique index qa_pair_import_row_key on qa_pair (import_job_id, import_row);
-- Near duplicates (pg_trgm %) and qaPairs(search) (LIKE '%...%'). GIN, not
-- GiST: against 100,000 stored questions a % lookup took about 3 ms with GIN
-- and 55 ms with GiST. fastupdate off: imports insert and then search at
-- once, and every search would scan the pending list of new entries.
create index qa_pair_question_trgm_idx on qa_pair using gin (question_normalised gin_trgm_ops)
  with (fastupdate = off);
create index qa_pair_list_idx on qa_pair (created_at desc, id desc);

-- jobUpdated subscribers see the counters move: a hint per change, sent on commit.
create function import_job_after_write() returns trigger language plpgsql as $$
begin
  perform pg_notify('jobwire_job', new.job_id::text);
  return null;
end
$$;

create trigger import_job_after_write after insert or update on import_job
  for each row execute function import_job_after_write();
