--! Previous: sha1:a9a8628acd91f9a23a3f3ed4d7a4ebc4bd262047
--! Hash: sha1:331aad3c45dfbd14ad537f9ae23d9254fa6f4872
--! Message: imports: twenty MinHash bands a pair

-- Near-duplicate lookups by MinHash band now use 20 bands of 5 instead of 30
-- (src/imports/question-bands.ts): each band is a key of the bands' GIN index,
-- written on every insert and read on every lookup, and a third fewer keys
-- make both cheaper and the index smaller. A signature's first 20 bands are
-- the new signature (the hash seeds come in sequence), so stored pairs keep
-- them and nothing is signed again. Imports with a threshold below 0.8 are
-- looked up through the trigram index instead, where 20 bands would miss too
-- many near duplicates.
-- The index is built again after the update rather than maintained through it.
drop index qa_pair_question_bands_idx;
update qa_pair set question_bands = question_bands[1:20] where cardinality(question_bands) > 20;
create index qa_pair_question_bands_idx on qa_pair using gin (question_bands) with (fastupdate = off);
