--! Previous: sha1:331aad3c45dfbd14ad537f9ae23d9254fa6f4872
--! Hash: sha1:8e8283eecd9a1dc8263450facb224c9a54016478
--! Message: auth: principal ids carry their kind

-- A principal id names its kind (issue 23): `key:<id>` for an API key,
-- `cli:<user>` for the operator CLI, `local-dev` with authentication off, and
-- now `jwt:<sub>` for a JWT, whose bare `sub` could read `key:<id>` and pass
-- for that key. A schedule makes its jobs as its creator, so the schedules of
-- JWT principals take the new form; jobs keep the createdBy they were made
-- with (their history; rewriting every job row is not worth its cost).
update schedule
   set created_by = 'jwt:' || created_by
 where created_by !~ '^(key|cli|jwt):'
   and created_by not in ('local-dev', 'anonymous', 'schedule');
