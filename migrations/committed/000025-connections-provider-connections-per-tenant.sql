--! Previous: sha1:331aad3c45dfbd14ad537f9ae23d9254fa6f4872
--! Hash: sha1:e1b3a67c9e670753e81ed4a381a241d3095d3e31
--! Message: connections: provider connections per tenant, sealed with AES-256-GCM

-- A tenant's own credentials for an outside provider (src/connections): its
-- YNAB token, its IBKR Flex Web Service token and query id. Jobs reach a
-- provider only with the credentials of the job's tenant. The secret is
-- stored sealed (AES-256-GCM, a key from the environment, the row's tenant
-- and provider as associated data, so a sealed secret copied to another row
-- does not open); it is never read back by any API. key_id names the key that
-- sealed it, so keys can be rotated (`jobwire connections rotate`).
create type connection_provider as enum ('YNAB', 'IBKR_FLEX');

create table provider_connection (
  tenant_id         text                not null,
  provider          connection_provider not null,
  -- A new one with each save: caches keyed by it (a provider client, YNAB's
  -- budget list) never outlive a change of the credentials.
  credential_id     uuid                not null default gen_random_uuid(),
  key_id            text                not null,
  secret_iv         bytea               not null,
  secret_ciphertext bytea               not null,
  secret_auth_tag   bytea               not null,
  -- What a listing shows of the token: its last four characters, no more.
  token_last4       text                not null,
  created_at        timestamptz         not null default now(),
  updated_at        timestamptz         not null default now(),
  primary key (tenant_id, provider),
  constraint provider_connection_tenant_not_empty check (tenant_id <> ''),
  constraint provider_connection_iv_size check (octet_length(secret_iv) = 12),
  constraint provider_connection_auth_tag_size check (octet_length(secret_auth_tag) = 16),
  constraint provider_connection_token_last4_size check (char_length(token_last4) <= 4)
);
