--! Previous: sha1:df314e2d705007d985d9d3c784cbbdf4fe9846df
--! Hash: sha1:5de3e5835949547d1c3945bb5f051e6c15253253
--! Message: core: failed jobs keep a structured error

-- Seed 000's mark_as_failed(error: dict): besides error_message (the reason
-- shown), a failed attempt keeps its error as { name, message, data? }.
alter table job add column error jsonb;
alter table job add constraint job_error_is_object check (error is null or jsonb_typeof(error) = 'object');
