--! Previous: sha1:47527ba6135aff2b95a55a392aec4e9433935716
--! Hash: sha1:0ea92c246be48e8594cd7ef703ad6f0c792f9754
--! Message: a create's functions planned once per connection (job_served, job_tags_valid in plpgsql); job_queue_task_id

-- Every create ran two SQL-language functions that Postgres cannot inline (a
-- subquery in one, an aggregate in the other): such a function's body is parsed
-- and planned again in every statement or transaction that calls it, which for
-- a lone create cost more than running them (job_served, from the insert's
-- trigger job_before_insert_no_worker: about 0.2 ms a create, its query 0.02;
-- job_tags_valid, from the job_tags_check constraint: about 0.05 ms). In
-- plpgsql their queries are planned once per connection. Same answers: for
-- job_tags_valid a tag that is null still counts as valid (bool_and skipped
-- it), a null array is still null, more than 20 tags (counting every element)
-- still invalid. docs/performance.md, "Start latency".
create or replace function job_served(job_type text, queue_name text, tenant_id text) returns boolean
  language plpgsql stable
  as $$
begin
  return exists (
    select 1 from worker_job_type s join worker w on w.id = s.worker_id
     where s.job_type = job_served.job_type
       and (s.queue_names is null or job_served.queue_name = any (s.queue_names))
       and (w.tenant_id is null or w.tenant_id = job_served.tenant_id));
end
$$;

create or replace function job_tags_valid(tags text[]) returns boolean
  language plpgsql immutable
  as $$
declare
  tag text;
begin
  if tags is null then
    return null;
  end if;
  if cardinality(tags) > 20 then
    return false;
  end if;
  foreach tag in array tags loop
    if tag !~ '^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,63}$' then
      return false;
    end if;
  end loop;
  return true;
end
$$;

-- The task id of a queue entry's task identifier, for the create statement that
-- writes its queue entries directly (src/job-state/queue-entry.ts), where the
-- statement's own snapshot does not show the task: made by a transaction that
-- committed after the statement began (another create of a new job type or
-- queue), or never (an announcement rolled back). Volatile: each of its queries
-- sees what committed before it (read committed), as graphile_worker.add_jobs'
-- separate statements did. A task new to the database is announced to workers
-- on commit, as add_job does.
create function job_queue_task_id(task text) returns integer
  language plpgsql volatile
  as $$
declare
  task_id integer;
begin
  select id into task_id from graphile_worker._private_tasks where identifier = task;
  if not found then
    insert into graphile_worker._private_tasks (identifier) values (task) on conflict do nothing returning id into task_id;
    if task_id is null then
      select id into task_id from graphile_worker._private_tasks where identifier = task;
    else
      perform pg_notify('jobwire_job_task', task);
    end if;
  end if;
  return task_id;
end
$$;
