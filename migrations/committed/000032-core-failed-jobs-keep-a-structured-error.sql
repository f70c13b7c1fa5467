--! Previous: sha1:331aad3c45dfbd14ad537f9ae23d9254fa6f4872
--! Hash: sha1:5b9592d390378d00ead8481602cf58d4025938b3
--! Message: core: failed jobs keep a structured error

-- Seed 000's mark_as_failed(error: dict): besides error_message (the reason
-- shown), a failed attempt keeps its error as { name, message, data? }.
alter table job add column error jsonb;
alter table job add constraint job_error_is_object check (error is null or jsonb_typeof(error) = 'object');
