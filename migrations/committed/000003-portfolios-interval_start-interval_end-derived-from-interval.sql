--! Previous: sha1:f9dd07581440f5b734003e6e0780e6fdad318756
--! Hash: sha1:6e6aa1f24ff422b2bc09e8dc3d3560020d7f8f89
--! Message: portfolios: interval_start/interval_end derived from interval, so Prisma reads the interval

-- The interval's days as plain dates, for readers without daterange support
-- (Prisma): first and last day, both inclusive. Derived, never written.
alter table portfolio_import_job
  add column interval_start date generated always as (lower(interval)) stored,
  add column interval_end   date generated always as (upper(interval) - 1) stored;
