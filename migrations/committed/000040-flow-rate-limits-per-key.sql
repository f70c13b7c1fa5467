--! Previous: sha1:429ff9b7ac96cbf21454ef9056c4ea83474a47b7
--! Hash: sha1:4c2c3e4dc0794077efd069a64b4d37f124c6c088
--! Message: flow: rate limits per key

-- A job may name a rate limit key (of its tenant) with at most max_starts
-- starts of the key's jobs per interval_ms, across all workers: a worker starts
-- such a job under the key's advisory lock, counting the starts recorded in the
-- sliding window. The starting job's limit applies (as a concurrency key's).
alter type job_waiting_reason add value 'KEY_RATE_LIMIT';

alter table job
  add column rate_limit_key text,
  add column rate_limit_max_starts integer,
  add column rate_limit_interval_ms integer,
  add constraint job_rate_limit_with_key check (
    ((rate_limit_key is null) = (rate_limit_max_starts is null)) and ((rate_limit_key is null) = (rate_limit_interval_ms is null))
    and rate_limit_max_starts between 1 and 100000 and rate_limit_interval_ms between 1 and 86400000);

-- Recent starts of rate limit keys (older than the interval are pruned as new ones are recorded).
create table rate_limit_key_start (
  tenant_id      text        not null,
  rate_limit_key text        not null,
  started_at     timestamptz not null
);

create index rate_limit_key_start_idx on rate_limit_key_start (tenant_id, rate_limit_key, started_at);

create or replace function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer)
  returns text language sql immutable as $$
  select case reason::text
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    when 'RATE_LIMIT' then format('waiting: queue %s reached its rate limit', queue_name)
    when 'KEY_RATE_LIMIT' then 'waiting: its rate limit key reached its rate limit'
    when 'NO_WORKER' then format('waiting: no live worker serves this job type in queue %s', queue_name)
    else 'no longer waiting'
  end
$$;
