--! Previous: sha1:4206d9e68911ad9bc269885082ec231aa5b5f854
--! Hash: sha1:8b7f5398b829044df52359c689f1b6f0887c706f
--! Message: webhooks: signed webhook subscriptions, their deliveries, operator alerts

-- Webhook subscriptions (src/webhooks/subscriptions.ts): a tenant's URL that
-- receives the job events it chose (statuses, optionally only some queues and
-- job types), signed with the subscription's secret (sealed like provider
-- connections' secrets, src/connections/encryption.ts). The cursor
-- (cursor_tx_id, cursor_id) is the last job_event the dispatcher has turned
-- into deliveries for it: events are read from the log after it, so none is
-- lost while no process runs, and createJob and the worker do no extra work.
create table webhook_subscription (
  id uuid not null default gen_random_uuid(),
  tenant_id text not null,
  url text not null,
  statuses job_status[] not null,
  queue_names text[],
  job_types text[],
  key_id text not null,
  secret_iv bytea not null,
  secret_ciphertext bytea not null,
  secret_auth_tag bytea not null,
  cursor_tx_id bigint not null,
  cursor_id bigint not null,
  created_by text,
  created_at timestamptz not null default now(),
  constraint webhook_subscription_pkey primary key (id),
  constraint webhook_subscription_statuses_not_empty check (cardinality(statuses) >= 1)
);

create index webhook_subscription_tenant_idx on webhook_subscription (tenant_id, created_at);

comment on table webhook_subscription is 'Webhooks: a tenant''s URL receiving chosen job events, signed (docs/webhooks.md).';

-- One delivery of one event to one subscription (or of one operator alert:
-- subscription_id null), with its id (the webhook-id header: the same on
-- every attempt) and its fixed body. PENDING until a 2xx answer (DELIVERED)
-- or its last attempt (FAILED). A process claims a due delivery for
-- locked_until; killed mid-delivery, its claim runs out and another process
-- sends it again, with the same id: at least once, deduplicated by the id.
create type webhook_delivery_status as enum ('PENDING', 'DELIVERED', 'FAILED');

create table webhook_delivery (
  id uuid not null default gen_random_uuid(),
  subscription_id uuid,
  tenant_id text,
  event_type text not null,
  job_event_id bigint,
  job_id uuid,
  body jsonb not null,
  status webhook_delivery_status not null default 'PENDING',
  attempt_count integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  response_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  constraint webhook_delivery_pkey primary key (id),
  constraint webhook_delivery_subscription_id_fkey foreign key (subscription_id) references webhook_subscription(id) on delete cascade,
  constraint webhook_delivery_attempt_count_not_negative check (attempt_count >= 0),
  constraint webhook_delivery_tenant_with_subscription check ((subscription_id is null) = (tenant_id is null))
);

-- An event is delivered to a subscription once: a dispatcher pass that ran twice inserts nothing new.
create unique index webhook_delivery_event_idx on webhook_delivery (subscription_id, job_event_id) where job_event_id is not null;
create index webhook_delivery_due_idx on webhook_delivery (next_attempt_at) where status = 'PENDING';
create index webhook_delivery_subscription_idx on webhook_delivery (subscription_id, created_at desc);

comment on table webhook_delivery is 'Webhooks: one event sent to one subscription (or one operator alert), its attempts and last answer.';

-- Operator alerts (src/webhooks/alerts.ts): one row per episode of a rule's
-- breach for a subject (a queue, a worker, or '' for the whole service).
-- Open while resolved_at is null (one open episode per rule and subject);
-- fired_at once it has lasted long enough to be announced.
create table operator_alert (
  id uuid not null default gen_random_uuid(),
  rule text not null,
  subject text not null,
  breached_since timestamptz not null,
  fired_at timestamptz,
  resolved_at timestamptz,
  detail jsonb not null default '{}'::jsonb,
  constraint operator_alert_pkey primary key (id),
  constraint operator_alert_rule_known check (rule in ('BACKLOG', 'WORKER_STALLED', 'DEAD_LETTERS')),
  constraint operator_alert_resolved_after_fired check (resolved_at is null or fired_at is not null)
);

create unique index operator_alert_open_idx on operator_alert (rule, subject) where resolved_at is null;

comment on table operator_alert is 'Operator alerts: episodes of a rule''s breach (backlog, stalled worker, dead letters), fired and resolved.';
