--! Previous: sha1:5b9592d390378d00ead8481602cf58d4025938b3
--! Hash: sha1:98508ebf9e50c40397743c605973bc454e57a095
--! Message: budgets: scheduled_sync_and_suggest a budget job type

-- Seed 004's eighth type: a budget schedule's tick is a BudgetJob with its
-- budget_job row, like the other seven (it was a plain job).
alter type budget_job_type add value 'scheduled_sync_and_suggest';
