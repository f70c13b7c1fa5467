--! Previous: sha1:1d97863b7a9200d57e0ce4cb6e57398c0b9a9ff7
--! Hash: sha1:7ff6a705ee2fccebdb98c620b65d8ca4a8c42389
--! Message: security: every job, kind row and imported record belongs to a tenant; API keys

-- A tenant owns jobs and what they import. Rows from before tenants belong to
-- the tenant 'default' (the one the local principal uses when authentication
-- is off).
alter table job add column tenant_id text not null default 'default';
create index job_tenant_created_idx on job (tenant_id, created_at desc, id desc);

-- Kind rows and imported records take their job's tenant on insert (one place,
-- so no insert path can forget it); existing rows are backfilled the same way.
alter table portfolio_import_job add column tenant_id text not null default 'default';
alter table collection_job add column tenant_id text not null default 'default';
alter table import_job add column tenant_id text not null default 'default';
alter table portfolio_trade add column tenant_id text not null default 'default';
alter table portfolio_cash_transaction add column tenant_id text not null default 'default';
alter table portfolio_position add column tenant_id text not null default 'default';
alter table qa_pair add column tenant_id text not null default 'default';

create function tenant_of_job() returns trigger language plpgsql as $$
begin
  select tenant_id into new.tenant_id from job where id = new.job_id;
  return new;
end $$;

create function tenant_of_import_job() returns trigger language plpgsql as $$
begin
  if new.import_job_id is not null then
    select tenant_id into new.tenant_id from job where id = new.import_job_id;
  end if;
  return new;
end $$;

create trigger portfolio_import_job_tenant before insert on portfolio_import_job for each row execute function tenant_of_job();
create trigger collection_job_tenant before insert on collection_job for each row execute function tenant_of_job();
create trigger import_job_tenant before insert on import_job for each row execute function tenant_of_job();
create trigger portfolio_trade_tenant before insert on portfolio_trade for each row execute function tenant_of_import_job();
create trigger portfolio_cash_transaction_tenant before insert on portfolio_cash_transaction for each row execute function tenant_of_import_job();
create trigger portfolio_position_tenant before insert on portfolio_position for each row execute function tenant_of_import_job();
create trigger qa_pair_tenant before insert on qa_pair for each row execute function tenant_of_import_job();

-- A portfolio's records and its one-active-import rule are per tenant: another
-- tenant using the same portfolio id neither collides with nor learns of them.
alter table portfolio_trade drop constraint portfolio_trade_unique,
  add constraint portfolio_trade_unique unique (tenant_id, portfolio_id, account_id, trade_id);
alter table portfolio_cash_transaction drop constraint portfolio_cash_transaction_unique,
  add constraint portfolio_cash_transaction_unique unique (tenant_id, portfolio_id, account_id, transaction_id);
alter table portfolio_position drop constraint portfolio_position_unique,
  add constraint portfolio_position_unique unique (tenant_id, portfolio_id, account_id, report_date, conid);
alter table portfolio_import_job drop constraint portfolio_import_job_no_overlap,
  add constraint portfolio_import_job_no_overlap
    exclude using gist (tenant_id with =, portfolio_id with =, interval with &&) where (active);

-- API keys: `jw_<id>_<secret>`; only sha256(secret) is kept, so a key is shown once.
create table api_key (
  id          text        primary key,
  name        text        not null,
  tenant_id   text        not null,
  scopes      text[]      not null,
  secret_hash bytea       not null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz,
  revoked_at  timestamptz,
  constraint api_key_name_not_empty check (name <> ''),
  constraint api_key_tenant_not_empty check (tenant_id <> '')
);

-- Duplicate questions are per tenant: one tenant's pairs neither block nor reveal another's.
drop index qa_pair_question_normalised_key;
create unique index qa_pair_question_normalised_key on qa_pair (tenant_id, question_normalised);
