--! Previous: sha1:41fd9e3c49e5fa7d1579d0c19598015db67dccc6
--! Hash: sha1:972e2e7b16f3fe9d4e3ce8b07854d42da5d78a09
--! Message: portfolios: interval_start/interval_end derived from interval, so Prisma reads the interval

-- The interval's days as plain dates, for readers without daterange support
-- (Prisma): first and last day, both inclusive. Derived, never written.
alter table portfolio_import_job
  add column interval_start date generated always as (lower(interval)) stored,
  add column interval_end   date generated always as (upper(interval) - 1) stored;
