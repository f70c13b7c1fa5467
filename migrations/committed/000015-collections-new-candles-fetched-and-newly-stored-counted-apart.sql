--! Previous: sha1:d9fccf1952f9f2b4e2723949a06b9a74b36ad1b2
--! Hash: sha1:1d97863b7a9200d57e0ce4cb6e57398c0b9a9ff7
--! Message: collections: new_candle_count, fetched and newly stored candles counted apart

-- total_candles counts the candles fetched within the range (what the
-- provider gave); new_candle_count those the candle table did not have before
-- (collecting a range again fetches everything and stores nothing new). A
-- count is named a count (000013).
alter table collection_job
  add column new_candle_count integer not null default 0,
  add constraint collection_job_new_candle_count_within_total check (new_candle_count between 0 and total_candles);
alter table collection_symbol add column new_candle_count integer not null default 0;
