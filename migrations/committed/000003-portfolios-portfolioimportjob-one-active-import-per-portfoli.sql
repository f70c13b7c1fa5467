--! Previous: sha1:5a525938cfc34ab93d0acae8cd335b0456293d4f
--! Hash: sha1:41fd9e3c49e5fa7d1579d0c19598015db67dccc6
--! Message: portfolios: PortfolioImportJob, one active import per portfolio and interval; imported trades, cash transactions, positions

-- PortfolioImportJob (seed 000): importing a portfolio's broker activity for a
-- date interval, with at most one active import per portfolio and interval.
--
-- interval: the API takes {start, end}, both inclusive dates, and stores
-- '[start,end]'; Postgres normalises it to [start, end + 1).

create extension if not exists btree_gist;

-- The new value is not used in this transaction (Postgres forbids that);
-- function bodies below only mention it as text, read when they run.
alter type job_kind add value if not exists 'PORTFOLIO_IMPORT';

create type portfolio_import_source as enum ('IBKR');

create table portfolio_import_job (
  job_id                 uuid primary key references job (id) on delete cascade,
  portfolio_id           uuid        not null,
  -- The broker account the statement must belong to.
  account_id             text        not null,
  interval               daterange   not null,
  source                 portfolio_import_source not null,
  -- The uploaded statement; null: fetched from the source (IBKR Flex Web Service).
  statement              text,
  -- Mirrors job.status (trigger below): false once FAILED, DEAD_LETTER or CANCELLED,
  -- true again when a retry re-queues it (and then the exclusion applies again).
  active                 boolean     not null default true,
  trade_count            integer     not null default 0,
  cash_transaction_count integer     not null default 0,
  position_count         integer     not null default 0,
  constraint portfolio_import_job_interval_bounded
    check (not isempty(interval) and not lower_inf(interval) and not upper_inf(interval)),
  constraint portfolio_import_job_account_format check (account_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  constraint portfolio_import_job_no_overlap
    exclude using gist (portfolio_id with =, interval with &&) where (active)
);

create index portfolio_import_job_portfolio_idx on portfolio_import_job using gist (portfolio_id, interval);

create function portfolio_import_job_follow_status() returns trigger language plpgsql as $$
begin
  if new.kind::text = 'PORTFOLIO_IMPORT' then
    update portfolio_import_job
       set active = new.status not in ('FAILED', 'DEAD_LETTER', 'CANCELLED')
     where job_id = new.id
       and active is distinct from (new.status not in ('FAILED', 'DEAD_LETTER', 'CANCELLED'));
  end if;
  return null;
end
$$;

create trigger portfolio_import_job_follow_status after update of status on job
  for each row when (old.status is distinct from new.status)
  execute function portfolio_import_job_follow_status();

create function portfolio_import_job_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('jobwire_job', new.job_id::text);
  return null;
end
$$;

create trigger portfolio_import_job_notify after insert or update on portfolio_import_job
  for each row execute function portfolio_import_job_notify();

-- Imported activity. Keys are the broker's own ids, so importing a statement
-- again (or an overlapping one) stores nothing twice.

create table portfolio_trade (
  id             uuid primary key default gen_random_uuid(),
  portfolio_id   uuid        not null,
  account_id     text        not null,
  trade_id       text        not null,
  import_job_id  uuid        references job (id) on delete set null,
  trade_date     date        not null,
  symbol         text        not null,
  conid          text,
  asset_category text,
  currency       text        not null,
  buy_sell       text,
  quantity       numeric     not null,
  trade_price    numeric     not null,
  proceeds       numeric,
  commission     numeric,
  created_at     timestamptz not null default now(),
  constraint portfolio_trade_unique unique (portfolio_id, account_id, trade_id)
);

create index portfolio_trade_list_idx on portfolio_trade (portfolio_id, trade_date desc, id desc);

create table portfolio_cash_transaction (
  id             uuid primary key default gen_random_uuid(),
  portfolio_id   uuid        not null,
  account_id     text        not null,
  transaction_id text        not null,
  import_job_id  uuid        references job (id) on delete set null,
  date           date        not null,
  type           text        not null,
  description    text,
  symbol         text,
  currency       text        not null,
  amount         numeric     not null,
  created_at     timestamptz not null default now(),
  constraint portfolio_cash_transaction_unique unique (portfolio_id, account_id, transaction_id)
);

create index portfolio_cash_transaction_list_idx on portfolio_cash_transaction (portfolio_id, date desc, id desc);

create table portfolio_position (
  id             uuid primary key default gen_random_uuid(),
  portfolio_id   uuid        not null,
  account_id     text        not null,
  report_date    date        not null,
  conid          text        not null,
  import_job_id  uuid        references job (id) on delete set null,
  symbol         text        not null,
  asset_category text,
  currency       text        not null,
  quantity       numeric     not null,
  mark_price     numeric,
  position_value numeric,
  cost_basis     numeric,
  created_at     timestamptz not null default now(),
  constraint portfolio_position_unique unique (portfolio_id, account_id, report_date, conid)
);

create index portfolio_position_list_idx on portfolio_position (portfolio_id, report_date desc, id desc);
