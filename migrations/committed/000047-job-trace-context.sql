--! Previous: sha1:4e1b5f48b813d6f2395a73fa9c433f4b2ad27702
--! Hash: sha1:3375d21aad8eb8a49e4f9f8d72a8de6cb4ccd1e8
--! Message: tracing: the creating request's trace context on the job

-- Tracing (docs/tracing.md): the W3C trace context of the request that created
-- the job, so each attempt's span (src/tracing/) joins the creator's trace.
-- traceparent is as the W3C header writes it (version 00: 55 characters);
-- tracestate as its header, bounded as the W3C bounds it (32 members of at most
-- 256 characters). A create that sets neither column (add_job, an app's own
-- insert) takes them from the transaction's settings jobwire.traceparent and
-- jobwire.tracestate (set_config(..., true)); unset or '' leaves them null.
alter table job
  add column traceparent text default nullif(current_setting('jobwire.traceparent', true), ''),
  add column tracestate text default nullif(current_setting('jobwire.tracestate', true), ''),
  add constraint job_traceparent_format check (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
    and traceparent !~ '^00-0{32}-' and traceparent !~ '^00-[0-9a-f]{32}-0{16}-'),
  add constraint job_tracestate_length check (length(tracestate) <= 8192);

comment on column job.traceparent is 'W3C traceparent of the span that created the job (the createJob request''s); each attempt''s span is its child.';
comment on column job.tracestate is 'W3C tracestate that came with traceparent.';
