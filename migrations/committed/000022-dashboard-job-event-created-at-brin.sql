--! Previous: sha1:f9fd4a6e56d5370564f1ad0e105602a553e67631
--! Hash: sha1:323ef5e326741b3993c126c4d709588e7b7cb314
--! Message: dashboard: job_event_created_brin_idx, so jobThroughput reads only the last hour's events

-- jobThroughput (the dashboard's chart) counts the COMPLETED, FAILED and
-- DEAD_LETTER events of the last minutes. job_event is append-only and its
-- created_at rises with its physical order, so a BRIN index finds those rows
-- by reading only the newest block ranges, and costs next to nothing per insert
-- (unlike a btree, which every status change would write).
create index job_event_created_brin_idx on job_event using brin (created_at) with (autosummarize = on);
