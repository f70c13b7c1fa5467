--! Previous: sha1:b5394f4d51336ab04e087bd33c146f5517c82335
--! Hash: sha1:df314e2d705007d985d9d3c784cbbdf4fe9846df
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
