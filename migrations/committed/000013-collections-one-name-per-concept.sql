--! Previous: sha1:c689f2e3503dadb8327b28e96eaafe5dcde565f1
--! Hash: sha1:f9fd4a6e56d5370564f1ad0e105602a553e67631
--! Message: collections: one name per concept

-- A count is named a count: collection_job's completed_symbols and
-- failed_symbols held numbers, while "failed symbols" elsewhere (GraphQL,
-- collection_failed_symbol) are the symbols themselves.
alter table collection_job rename column completed_symbols to completed_symbol_count;
alter table collection_job rename column failed_symbols to failed_symbol_count;
