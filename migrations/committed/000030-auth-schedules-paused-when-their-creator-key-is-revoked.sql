--! Previous: sha1:331aad3c45dfbd14ad537f9ae23d9254fa6f4872
--! Hash: sha1:bad1749fb41f9740a374cc67b31626efc03b0da1
--! Message: auth: schedules paused when their creator's API key is revoked

-- A schedule runs as its creator (created_by). When that is an API key that no
-- longer holds jobs:write (revoked, expired, deleted), the scheduler pauses the
-- schedule and says why here; resuming it makes the caller its creator.
alter table schedule add column paused_reason text;
