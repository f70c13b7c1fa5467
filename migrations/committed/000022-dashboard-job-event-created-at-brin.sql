--! Previous: sha1:7b820d1e5b088080af6bcc635259e8492f0b092a
--! Hash: sha1:9fe3f8f7cc64b1420ae0f0d78a3c2893fa7398e0
--! Message: dashboard: job_event_created_brin_idx, so jobThroughput reads only the last hour's events

-- jobThroughput (the dashboard's chart) counts the COMPLETED, FAILED and
-- DEAD_LETTER events of the last minutes. job_event is append-only and its
-- created_at rises with its physical order, so a BRIN index finds those rows
-- by reading only the newest block ranges, and costs next to nothing per insert
-- (unlike a btree, which every status change would write).
create index job_event_created_brin_idx on job_event using brin (created_at) with (autosummarize = on);
