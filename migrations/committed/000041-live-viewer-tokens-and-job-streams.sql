--! Previous: sha1:429ff9b7ac96cbf21454ef9056c4ea83474a47b7
--! Hash: sha1:7bc37aa9ad52f9efc58a9f47c876d93acbd9f42b
--! Message: live: viewer tokens' signing secret

-- Viewer tokens (src/auth/viewer-tokens.ts) are signed JWTs that let a browser
-- read a few jobs. Every API process verifies them, so the key is shared in
-- the database rather than configured: one row, made by the first process that
-- needs it (256 random bits from Node's crypto).
create table viewer_token_secret (
  id smallint not null default 1,
  secret bytea not null,
  created_at timestamptz not null default now(),
  constraint viewer_token_secret_pkey primary key (id),
  constraint viewer_token_secret_one_row check (id = 1),
  constraint viewer_token_secret_length check (length(secret) = 32)
);

comment on table viewer_token_secret is 'The HS256 key of viewer tokens (src/auth/viewer-tokens.ts); one row. Deleting it invalidates every viewer token once API processes restart.';
