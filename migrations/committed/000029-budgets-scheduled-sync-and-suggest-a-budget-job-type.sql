--! Previous: sha1:5de3e5835949547d1c3945bb5f051e6c15253253
--! Hash: sha1:e1d6581c1b49acc5e2ee8798f9ff844b2b112680
--! Message: budgets: scheduled_sync_and_suggest a budget job type

-- Seed 004's eighth type: a budget schedule's tick is a BudgetJob with its
-- budget_job row, like the other seven (it was a plain job).
alter type budget_job_type add value 'scheduled_sync_and_suggest';
