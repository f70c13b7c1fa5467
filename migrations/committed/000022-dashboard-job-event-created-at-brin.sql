--! Previous: sha1:7ff6a705ee2fccebdb98c620b65d8ca4a8c42389
--! Hash: sha1:25231b3935d4f9df1e849801f0c8b60e33ef6342
--! Message: dashboard: job_event_created_brin_idx, so jobThroughput reads only the last hour's events

-- jobThroughput (the dashboard's chart) counts the COMPLETED, FAILED and
-- DEAD_LETTER events of the last minutes. job_event is append-only and its
-- created_at rises with its physical order, so a BRIN index finds those rows
-- by reading only the newest block ranges, and costs next to nothing per insert
-- (unlike a btree, which every status change would write).
create index job_event_created_brin_idx on job_event using brin (created_at) with (autosummarize = on);
