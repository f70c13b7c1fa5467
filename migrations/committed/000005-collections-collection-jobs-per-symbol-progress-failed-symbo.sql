--! Previous: sha1:972e2e7b16f3fe9d4e3ce8b07854d42da5d78a09
--! Hash: sha1:7d078f48968cedf616e3f0fa41517f84a168b0b3
--! Message: collections: collection jobs, per-symbol progress, failed symbols, candles

-- CollectionJob (seed 002): fetch OHLCV candles for many symbols.
-- collection_job extends job (class-table inheritance); collection_symbol is the
-- per-symbol progress a retry resumes from; collection_failed_symbol is the
-- record add_failed_symbol writes; candle holds what was collected.

alter type job_kind add value if not exists 'COLLECTION';

create table collection_job (
  job_id            uuid primary key references job (id) on delete cascade,
  symbols           text[]      not null,
  timeframe         text        not null,
  range_from        timestamptz not null,
  range_to          timestamptz not null,
  provider          text        not null,
  completed_symbols integer     not null default 0,
  failed_symbols    integer     not null default 0,
  total_candles     integer     not null default 0,
  constraint collection_job_has_symbols check (cardinality(symbols) > 0),
  constraint collection_job_timeframe_known check (timeframe in ('1m', '5m', '15m', '1h', '4h', '1d', '1w')),
  constraint collection_job_range_ordered check (range_from <= range_to),
  constraint collection_job_counts_not_negative check (completed_symbols >= 0 and failed_symbols >= 0 and total_candles >= 0)
);

-- One row per symbol of a job: a retry collects only symbols not COMPLETED.
create table collection_symbol (
  job_id     uuid        not null references collection_job (job_id) on delete cascade,
  symbol     text        not null,
  status     text        not null default 'PENDING',
  candles    integer     not null default 0,
  error      text,
  updated_at timestamptz not null default now(),
  primary key (job_id, symbol),
  constraint collection_symbol_status_allowed check (status in ('PENDING', 'COMPLETED', 'FAILED'))
);

create table collection_failed_symbol (
  id        bigint generated always as identity primary key,
  job_id    uuid        not null references collection_job (job_id) on delete cascade,
  symbol    text        not null,
  error     text        not null,
  failed_at timestamptz not null default now()
);

create index collection_failed_symbol_job_idx on collection_failed_symbol (job_id, id);

-- Collected candles; collecting the same range twice changes nothing (upsert on the key).
create table candle (
  symbol    text             not null,
  timeframe text             not null,
  ts        timestamptz      not null,
  open      double precision not null,
  high      double precision not null,
  low       double precision not null,
  close     double precision not null,
  volume    double precision not null,
  constraint candle_pkey primary key (symbol, timeframe, ts),
  constraint candle_prices_consistent check (low <= high and open between low and high and close between low and high),
  constraint candle_volume_not_negative check (volume >= 0)
);

-- jobUpdated subscribers see counters move: a hint per change, sent on commit.
create function collection_job_after_write() returns trigger language plpgsql as $$
begin
  perform pg_notify('jobwire_job', new.job_id::text);
  return null;
end
$$;

create trigger collection_job_after_write after insert or update on collection_job
  for each row execute function collection_job_after_write();
