--! Previous: sha1:2dd5b7227fc06af3b272fd7ab95e5fb85efd36d6
--! Hash: sha1:6ff16d60f4907a48d6acdfe9e50fa880dab2113a
--! Message: collections: new_candles, fetched and newly stored candles counted apart

-- total_candles counts the candles fetched within the range (what the
-- provider gave); new_candles those the candle table did not have before
-- (collecting a range again fetches everything and stores nothing new).
alter table collection_job
  add column new_candles integer not null default 0,
  add constraint collection_job_new_candles_within_total check (new_candles between 0 and total_candles);
alter table collection_symbol add column new_candles integer not null default 0;
