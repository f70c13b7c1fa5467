-- The notes fixture kind's one table (the test creates it in its own database,
-- as a real kind's migration in migrations/ would). No Prisma model: the kind
-- reads and writes it with SQL, filtering by tenant itself.
create table note (
  job_id uuid primary key references job (id) on delete cascade,
  tenant_id text not null,
  text text not null,
  shouted text
);
