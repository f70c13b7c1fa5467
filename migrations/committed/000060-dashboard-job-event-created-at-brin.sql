--! Previous: sha1:c689f2e3503dadb8327b28e96eaafe5dcde565f1
--! Hash: sha1:3f4ce9db15a55762205b299c4fc52bcb9f7c24fe
--! Message: dashboard: job_event_created_brin_idx, so jobThroughput reads only the last hour's events

-- jobThroughput (the dashboard's chart) counts the COMPLETED, FAILED and
-- DEAD_LETTER events of the last minutes. job_event is append-only and its
-- created_at rises with its physical order, so a BRIN index finds those rows
-- by reading only the newest block ranges, and costs next to nothing per insert
-- (unlike a btree, which every status change would write).
create index job_event_created_brin_idx on job_event using brin (created_at) with (autosummarize = on);
