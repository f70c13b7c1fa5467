--! Previous: sha1:e1b3a67c9e670753e81ed4a381a241d3095d3e31
--! Hash: sha1:b5394f4d51336ab04e087bd33c146f5517c82335
--! Message: auth: schedules paused when their creator's API key is revoked

-- A schedule runs as its creator (created_by). When that is an API key that no
-- longer holds jobs:write (revoked, expired, deleted), the scheduler pauses the
-- schedule and says why here; resuming it makes the caller its creator.
alter table schedule add column paused_reason text;
