--! Previous: sha1:f9fd4a6e56d5370564f1ad0e105602a553e67631
--! Hash: sha1:d9fccf1952f9f2b4e2723949a06b9a74b36ad1b2
--! Message: imports: duplicate policy per import, MinHash bands for near-duplicate lookups, flagged pairs

-- Duplicate policy, chosen per import (createImportJob input
-- duplicatePolicy): the pg_trgm similarity from which a question is a near
-- duplicate, and what a near duplicate does: REJECT (a DuplicateDetectedError,
-- not stored) or FLAG (stored, with the pair it resembles and how much).
-- Exact duplicates (equal after qa_normalise_question) are never stored twice,
-- whatever the action: the unique index refuses them.
-- Imports queued before this migration keep what they were created with
-- (0.8, reject); new ones always say (the default is IMPORT_SIMILARITY_THRESHOLD).
alter table import_job
  add column similarity_threshold real not null default 0.8,
  add column duplicate_action text not null default 'REJECT',
  add constraint import_job_similarity_threshold_range check (similarity_threshold between 0.5 and 1),
  add constraint import_job_duplicate_action_known check (duplicate_action in ('REJECT', 'FLAG'));
alter table import_job alter column similarity_threshold drop default, alter column duplicate_action drop default;

-- A pair stored by a FLAG import although it nearly repeats another.
alter table qa_pair
  add column duplicate_of uuid references qa_pair (id) on delete set null,
  add column duplicate_similarity real,
  add constraint qa_pair_duplicate_flag_complete check (duplicate_of is null or duplicate_similarity is not null);

-- Near-duplicate candidates. A GIN trigram % lookup reads every posting list
-- of the question's ~45 trigrams: about 2 ms per question against 100,000
-- stored ones, ten times that against a million (measured: see README,
-- "Imports at speed"). question_bands holds the question's MinHash signature
-- over its pg_trgm trigrams (show_trgm), cut into bands (src/imports/
-- question-bands.ts computes them); two questions whose trigram sets are
-- similar share a band with high probability, so a lookup reads ~30 short
-- posting lists and pg_trgm similarity() then decides exactly. NULL: not
-- signed yet (a pair inserted other than by an import); an import signs such
-- pairs before it compares against them.
alter table qa_pair add column question_bands bigint[];
-- fastupdate off: every lookup would scan the pending list of new entries.
create index qa_pair_question_bands_idx on qa_pair using gin (question_bands) with (fastupdate = off);

-- The trigram index now serves qaPairs(search) only: let inserts go to the
-- pending list (much cheaper per row) and be merged in bulk.
alter index qa_pair_question_trgm_idx set (fastupdate = on);

-- Finds the pairs an import must sign first (normally none: a tiny index).
create index qa_pair_unsigned_idx on qa_pair (id) where question_bands is null;
