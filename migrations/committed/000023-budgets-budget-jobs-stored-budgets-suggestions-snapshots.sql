--! Previous: sha1:9fe3f8f7cc64b1420ae0f0d78a3c2893fa7398e0
--! Hash: sha1:a9a8628acd91f9a23a3f3ed4d7a4ebc4bd262047
--! Message: budgets: budget jobs, stored budgets, category suggestions, snapshots

-- BudgetJob (seed 004): jobs on a budget of a budgeting service (YNAB's shape,
-- src/budgets/provider.ts). budget_job extends job (class-table inheritance).
-- The budget's data is stored per tenant and budget, keyed by the provider's
-- own ids, so syncing again upserts and a delta sync writes only what changed;
-- deleted entities keep their rows with deleted = true, as the provider sends them.

alter type job_kind add value if not exists 'BUDGET';

-- Seed 004's job types, spelt as the seed spells them (job.job_type is
-- 'budget.' || the seed's name without its 'budget_' prefix; see src/budgets/kind.ts).
-- The eighth, scheduled_sync_and_suggest, is the job a budget's schedule makes
-- at each tick (a plain job: schedules make plain jobs); it creates a
-- sync_and_suggest BudgetJob marked SCHEDULED, so it has no budget_job row.
create type budget_job_type as enum (
  'budget_sync', 'suggestions_generate', 'sync_and_suggest', 'suggestions_retry_payee',
  'suggestions_apply', 'snapshot_create', 'snapshot_redownload'
);

create type category_suggestion_status as enum ('PENDING', 'ACCEPTED', 'REJECTED', 'APPLIED');

create table budget_job (
  job_id               uuid primary key references job (id) on delete cascade,
  budget_id            text            not null,
  budget_job_type      budget_job_type not null,
  -- suggestions_retry_payee: the payee whose suggestions are made again.
  payee_id             text,
  -- snapshot_redownload: the snapshot fetched again and verified.
  snapshot_id          uuid,
  transactions_synced  integer         not null default 0,
  suggestions_made     integer         not null default 0,
  suggestions_applied  integer         not null default 0,
  suggestions_not_applied integer      not null default 0,
  tenant_id            text            not null default 'default',
  constraint budget_job_budget_id_not_empty check (budget_id <> ''),
  constraint budget_job_counts_not_negative check (
    transactions_synced >= 0 and suggestions_made >= 0 and suggestions_applied >= 0 and suggestions_not_applied >= 0)
);

create index budget_job_budget_idx on budget_job (tenant_id, budget_id);

create trigger budget_job_tenant before insert on budget_job for each row execute function tenant_of_job();

-- jobUpdated subscribers see the counters move: a hint per change, sent on commit.
create function budget_job_after_write() returns trigger language plpgsql as $$
begin
  perform pg_notify('jobwire_job', new.job_id::text);
  return null;
end
$$;

create trigger budget_job_after_write after insert or update on budget_job
  for each row execute function budget_job_after_write();

-- A budget as last synced: the provider's server knowledge per entity kind
-- (null: never synced; the next sync fetches everything). Written only after
-- every page of a sync is stored, so a sync that dies midway fetches again.
create table budget (
  tenant_id                text        not null,
  budget_id                text        not null,
  provider                 text        not null,
  name                     text        not null,
  currency_iso_code        text,
  accounts_knowledge       bigint,
  categories_knowledge     bigint,
  payees_knowledge         bigint,
  transactions_knowledge   bigint,
  synced_at                timestamptz,
  created_at               timestamptz not null default now(),
  primary key (tenant_id, budget_id)
);

create table budget_account (
  tenant_id  text    not null,
  budget_id  text    not null,
  account_id text    not null,
  name       text    not null,
  type       text    not null,
  closed     boolean not null,
  deleted    boolean not null,
  primary key (tenant_id, budget_id, account_id)
);

create table budget_category (
  tenant_id           text    not null,
  budget_id           text    not null,
  category_id         text    not null,
  name                text    not null,
  category_group_name text    not null,
  hidden              boolean not null,
  deleted             boolean not null,
  primary key (tenant_id, budget_id, category_id)
);

create table budget_payee (
  tenant_id           text    not null,
  budget_id           text    not null,
  payee_id            text    not null,
  name                text    not null,
  -- What near-identical names are compared on (pg_trgm): case and spacing do not count.
  name_normalised     text    not null generated always as (lower(regexp_replace(btrim(name), '\s+', ' ', 'g'))) stored,
  transfer_account_id text,
  deleted             boolean not null,
  primary key (tenant_id, budget_id, payee_id)
);

-- Near-identical payee names (suggestions): pg_trgm's % operator over this index.
create index budget_payee_name_trgm_idx on budget_payee using gin (name_normalised gin_trgm_ops);

create table budget_transaction (
  tenant_id          text    not null,
  budget_id          text    not null,
  transaction_id     text    not null,
  account_id         text    not null,
  date               date    not null,
  amount_milliunits  bigint  not null,
  payee_id           text,
  payee_name         text,
  category_id        text,
  memo               text,
  approved           boolean not null,
  deleted            boolean not null,
  -- The sync job that last wrote the row: a delta sync writes only what changed.
  synced_by_job_id   uuid,
  synced_at          timestamptz not null default now(),
  primary key (tenant_id, budget_id, transaction_id)
);

-- A payee's history: categorised transactions counted per payee and category.
create index budget_transaction_payee_idx on budget_transaction (tenant_id, budget_id, payee_id)
  where not deleted;

-- What suggestions are for: transactions without a category.
create index budget_transaction_uncategorised_idx on budget_transaction (tenant_id, budget_id, payee_id)
  where category_id is null and not deleted;

-- One suggestion per transaction. Made again (suggestions_generate,
-- suggestions_retry_payee) only while PENDING: an ACCEPTED, REJECTED or
-- APPLIED one is the user's (or the provider's) answer and stays.
create table category_suggestion (
  id                    uuid primary key default gen_random_uuid(),
  tenant_id             text        not null,
  budget_id             text        not null,
  transaction_id        text        not null,
  payee_id              text,
  suggested_category_id text        not null,
  -- Share of the payee's categorised transactions that have the suggested category (0..1].
  confidence            real        not null,
  -- How many of the payee's earlier transactions (categorised, near-identical names included) the suggestion rests on.
  evidence_count        integer     not null,
  status                category_suggestion_status not null default 'PENDING',
  created_by_job_id     uuid        references job (id) on delete set null,
  applied_by_job_id     uuid        references job (id) on delete set null,
  applied_at            timestamptz,
  -- Why suggestions_apply did not write it (it stays ACCEPTED); null once APPLIED.
  not_applied_reason    text,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  constraint category_suggestion_transaction_key unique (tenant_id, budget_id, transaction_id),
  constraint category_suggestion_confidence_range check (confidence > 0 and confidence <= 1),
  constraint category_suggestion_evidence_positive check (evidence_count > 0),
  constraint category_suggestion_applied_has_time check ((status = 'APPLIED') = (applied_at is not null))
);

create index category_suggestion_budget_status_idx on category_suggestion (tenant_id, budget_id, status, created_at desc, id desc);
create index category_suggestion_payee_idx on category_suggestion (tenant_id, budget_id, payee_id);

-- A compressed export of the budget (gzip of the provider's JSON export).
-- sha256 and size_bytes are of the export as the provider sent it
-- (uncompressed), so a redownload compares like with like.
create table budget_snapshot (
  id                  uuid primary key default gen_random_uuid(),
  tenant_id           text        not null,
  budget_id           text        not null,
  content_gzip        bytea       not null,
  sha256              text        not null,
  size_bytes          bigint      not null,
  compressed_size_bytes bigint    not null,
  created_by_job_id   uuid        references job (id) on delete set null,
  created_at          timestamptz not null default now(),
  -- Set by snapshot_redownload: when the stored bytes last decompressed to sha256,
  -- and whether the provider's export then still had that checksum.
  verified_at         timestamptz,
  redownloaded_sha256 text,
  content_changed     boolean,
  constraint budget_snapshot_sha256_hex check (sha256 ~ '^[0-9a-f]{64}$'),
  constraint budget_snapshot_sizes_not_negative check (size_bytes >= 0 and compressed_size_bytes >= 0)
);

create index budget_snapshot_budget_idx on budget_snapshot (tenant_id, budget_id, created_at desc, id desc);
