--! Previous: sha1:c79d9882515f1a9c5ebd9edd5c4eaf8314397592
--! Hash: sha1:7b820d1e5b088080af6bcc635259e8492f0b092a
--! Message: flow: queue rate limits

-- At most max_starts job starts per interval_ms in a queue, across all
-- workers: a worker starts a job of a limited queue under the queue's advisory
-- lock, counting the starts recorded in the sliding window.
alter type job_waiting_reason add value 'RATE_LIMIT';

create table queue_rate_limit (
  queue_name  text    not null primary key,
  max_starts  integer not null,
  interval_ms integer not null,
  constraint queue_rate_limit_name_format check (queue_name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  constraint queue_rate_limit_max_starts_range check (max_starts between 1 and 100000),
  constraint queue_rate_limit_interval_range check (interval_ms between 1 and 86400000)
);

-- Recent starts of limited queues (older than the interval are pruned as new ones are recorded).
create table queue_rate_limit_start (
  queue_name text        not null references queue_rate_limit (queue_name) on delete cascade,
  started_at timestamptz not null
);

create index queue_rate_limit_start_idx on queue_rate_limit_start (queue_name, started_at);

create or replace function job_waiting_message(reason job_waiting_reason, queue_name text, concurrency_key text, concurrency_limit integer)
returns text language sql immutable as $$
  select case reason::text
    when 'DEPENDENCIES' then 'waiting for the jobs it depends on'
    when 'QUEUE_PAUSED' then format('waiting: queue %s is paused', queue_name)
    when 'CONCURRENCY_LIMIT' then format('waiting: concurrency key %s has %s running (its limit)', concurrency_key, concurrency_limit)
    when 'RATE_LIMIT' then format('waiting: queue %s reached its rate limit', queue_name)
    else 'no longer waiting'
  end
$$;
