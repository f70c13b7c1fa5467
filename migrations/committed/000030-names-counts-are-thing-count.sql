--! Previous: sha1:e1d6581c1b49acc5e2ee8798f9ff844b2b112680
--! Hash: sha1:f73b0dd4a93db4d06a86d6c9a1452ea975ab5da5
--! Message: names: every count is <thing>_count

-- One convention for counts, as completed_symbol_count, new_candle_count,
-- success_count and trade_count already follow: <qualifier>_<thing>_count.
-- Renames keep the data, and the check constraints follow the columns; no
-- trigger, function or view reads these columns (db/schema.sql).
alter table collection_job rename column total_candles to candle_count;
alter table collection_job rename constraint collection_job_new_candle_count_within_total
  to collection_job_new_candle_count_within_candle_count;
alter table collection_symbol rename column candles to candle_count;

alter table import_job rename column total_rows to row_count;
alter table import_job rename column processed_rows to processed_row_count;
alter table import_job rename column committed_batches to committed_batch_count;

alter table budget_job rename column transactions_synced to synced_transaction_count;
alter table budget_job rename column suggestions_made to suggestion_count;
alter table budget_job rename column suggestions_applied to applied_suggestion_count;
alter table budget_job rename column suggestions_not_applied to not_applied_suggestion_count;
