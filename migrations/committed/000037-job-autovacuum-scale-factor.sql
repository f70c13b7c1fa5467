--! Previous: sha1:bc459bebfcf6b0134c2dec36bc6601ed91e66514
--! Hash: sha1:2b94e00e899a92dbb2a1b0ceb039b5027036a528
--! Message: job: vacuumed at 2 % dead rows, not Postgres' 20 %

-- Every job leaves two dead rows in job (its RUNNING and COMPLETED updates
-- touch indexed columns, so they are not HOT) and job keeps every job until
-- retention removes it, so the table only grows. At Postgres' default scale
-- factor (0.2) autovacuum waits for dead rows worth a fifth of the table: in
-- bench:pressure's event_burst (140,000 jobs stored) 17,673 dead rows stayed
-- once the load stopped, past their level before the burst, for good; with
-- millions of jobs stored it would be hundreds of thousands that every scan
-- of the active jobs reads past. 2 % keeps it to a minute or so of jobs at
-- any size. The cost delay stays Postgres' (2 ms): the vacuums it measured
-- were short. job_event is append-only (no dead rows) and the queue entries
-- (graphile_worker._private_jobs) are few, vacuumed at each naptime by the
-- default already; their settings are left alone.
alter table job set (autovacuum_vacuum_scale_factor = 0.02);
