--! Previous: sha1:ec978700b89d7e0ba892f01ab54ece3209676b8d
--! Hash: sha1:63522a74027bdaa651b46cf7c5b4a41dd0d3cb93
--! Message: open: add_job, enqueue inside the app's own transaction

-- An app enqueues in its own transaction: `begin; insert into orders ...;
-- select add_job('orders.ship', '{"orderId": 42}'); commit` makes both or
-- neither. add_job writes what createJob writes (src/jobs/create.ts,
-- src/flow/create.ts, src/job-state/insert.ts): the job row (its first event
-- and NOTIFY come from the job's triggers, so they are sent on commit only),
-- its queue entry, its idempotency key and dependencies. The payload is checked
-- against the payload JSON Schema its job type registered (job_type).

-- A subset of JSON Schema (draft 2020-12, what zod 4's toJSONSchema prints for
-- common schemas), checked in the database. Answers the first problem as
-- '<path>: <what is wrong>' (e.g. 'payload.amount: expected number, got
-- string'), or null when the value conforms. Checked: type (integer too),
-- nullable, enum, const, anyOf, oneOf, allOf, not; minimum, maximum,
-- exclusiveMinimum, exclusiveMaximum, multipleOf; minLength, maxLength,
-- pattern (when Postgres' regular expressions can compile it); items,
-- prefixItems, minItems, maxItems, uniqueItems; properties, required,
-- additionalProperties, minProperties, maxProperties. Every other keyword
-- (format, $ref, patternProperties, ...) is not checked; the handler's own
-- parse at run time still is.
create function json_schema_error(schema jsonb, value jsonb, path text)
returns text language plpgsql immutable as $$
declare
  kind text := jsonb_typeof(value);
  types text[];
  number numeric;
  text_value text;
  key text;
  item jsonb;
  position integer;
  branch jsonb;
  error text;
  passed integer;
  first_error text;
  expected text[];
begin
  if schema = 'false'::jsonb then
    return format('%s: is not allowed', path);
  end if;
  if schema is null or jsonb_typeof(schema) <> 'object' then
    return null;
  end if;
  -- OpenAPI 3.0's nullable (zod 4 prints anyOf [..., {"type": "null"}] instead).
  if kind = 'null' and schema->'nullable' = 'true'::jsonb then
    return null;
  end if;
  if kind = 'number' then
    number := value::numeric;
  elsif kind = 'string' then
    text_value := value #>> '{}';
  end if;

  if schema ? 'type' then
    types := case jsonb_typeof(schema->'type')
               when 'array' then array(select jsonb_array_elements_text(schema->'type'))
               else array[schema->>'type'] end;
    if schema->'nullable' = 'true'::jsonb then
      types := types || 'null'::text;
    end if;
    if not (kind = any(types) or (kind = 'number' and 'integer' = any(types) and number = trunc(number))) then
      return format('%s: expected %s, got %s', path, array_to_string(types, ' or '),
                    case when kind = 'number' and 'integer' = any(types) then 'a fraction' else kind end);
    end if;
  end if;
  if schema ? 'const' and value <> schema->'const' then
    return format('%s: expected %s', path, schema->'const');
  end if;
  if jsonb_typeof(schema->'enum') = 'array'
     and not exists (select from jsonb_array_elements(schema->'enum') as e(option) where e.option = value) then
    return format('%s: expected one of %s', path,
                  (select string_agg(e.option::text, ', ') from jsonb_array_elements(schema->'enum') as e(option)));
  end if;

  if kind = 'number' then
    if jsonb_typeof(schema->'minimum') = 'number' then
      if number < (schema->'minimum')::numeric then
        return format('%s: must be at least %s', path, schema->'minimum');
      end if;
      -- draft 4 spelled an exclusive bound as a boolean beside minimum/maximum.
      if schema->'exclusiveMinimum' = 'true'::jsonb and number = (schema->'minimum')::numeric then
        return format('%s: must be greater than %s', path, schema->'minimum');
      end if;
    end if;
    if jsonb_typeof(schema->'maximum') = 'number' then
      if number > (schema->'maximum')::numeric then
        return format('%s: must be at most %s', path, schema->'maximum');
      end if;
      if schema->'exclusiveMaximum' = 'true'::jsonb and number = (schema->'maximum')::numeric then
        return format('%s: must be less than %s', path, schema->'maximum');
      end if;
    end if;
    if jsonb_typeof(schema->'exclusiveMinimum') = 'number' and number <= (schema->'exclusiveMinimum')::numeric then
      return format('%s: must be greater than %s', path, schema->'exclusiveMinimum');
    end if;
    if jsonb_typeof(schema->'exclusiveMaximum') = 'number' and number >= (schema->'exclusiveMaximum')::numeric then
      return format('%s: must be less than %s', path, schema->'exclusiveMaximum');
    end if;
    if jsonb_typeof(schema->'multipleOf') = 'number' and (schema->'multipleOf')::numeric <> 0
       and mod(number, (schema->'multipleOf')::numeric) <> 0 then
      return format('%s: must be a multiple of %s', path, schema->'multipleOf');
    end if;
  end if;

  if kind = 'string' then
    if jsonb_typeof(schema->'minLength') = 'number' and length(text_value) < (schema->'minLength')::numeric then
      return format('%s: must be at least %s characters', path, schema->'minLength');
    end if;
    if jsonb_typeof(schema->'maxLength') = 'number' and length(text_value) > (schema->'maxLength')::numeric then
      return format('%s: must be at most %s characters', path, schema->'maxLength');
    end if;
    if jsonb_typeof(schema->'pattern') = 'string' then
      begin
        if text_value !~ (schema->>'pattern') then
          return format('%s: must match the pattern %s', path, schema->'pattern');
        end if;
      exception when invalid_regular_expression then
        -- A JavaScript pattern Postgres cannot compile is left to the handler's parse.
        null;
      end;
    end if;
  end if;

  if kind = 'array' then
    if jsonb_typeof(schema->'minItems') = 'number' and jsonb_array_length(value) < (schema->'minItems')::numeric then
      return format('%s: must have at least %s items', path, schema->'minItems');
    end if;
    if jsonb_typeof(schema->'maxItems') = 'number' and jsonb_array_length(value) > (schema->'maxItems')::numeric then
      return format('%s: must have at most %s items', path, schema->'maxItems');
    end if;
    if schema->'uniqueItems' = 'true'::jsonb
       and (select count(distinct e) from jsonb_array_elements(value) as e) < jsonb_array_length(value) then
      return format('%s: must not repeat an item', path);
    end if;
    for item, position in select e, (o - 1)::integer from jsonb_array_elements(value) with ordinality as x(e, o) loop
      branch := case
        when jsonb_typeof(schema->'prefixItems') = 'array' and position < jsonb_array_length(schema->'prefixItems')
          then schema->'prefixItems'->position
        else schema->'items' end;
      if branch = 'false'::jsonb then
        return format('%s: must have at most %s items', path, position);
      end if;
      error := json_schema_error(branch, item, path || '.' || position);
      if error is not null then
        return error;
      end if;
    end loop;
  end if;

  if kind = 'object' then
    if jsonb_typeof(schema->'required') = 'array' then
      for key in select jsonb_array_elements_text(schema->'required') loop
        if not value ? key then
          return format('%s.%s: is required', path, key);
        end if;
      end loop;
    end if;
    if jsonb_typeof(schema->'minProperties') = 'number'
       and (select count(*) from jsonb_object_keys(value)) < (schema->'minProperties')::numeric then
      return format('%s: must have at least %s properties', path, schema->'minProperties');
    end if;
    if jsonb_typeof(schema->'maxProperties') = 'number'
       and (select count(*) from jsonb_object_keys(value)) > (schema->'maxProperties')::numeric then
      return format('%s: must have at most %s properties', path, schema->'maxProperties');
    end if;
    for key, item in select e.key, e.value from jsonb_each(value) as e order by e.key loop
      if jsonb_typeof(schema->'properties') = 'object' and schema->'properties' ? key then
        error := json_schema_error(schema->'properties'->key, item, path || '.' || key);
      elsif schema->'additionalProperties' = 'false'::jsonb then
        error := format('%s.%s: is not a known property', path, key);
      else
        error := json_schema_error(schema->'additionalProperties', item, path || '.' || key);
      end if;
      if error is not null then
        return error;
      end if;
    end loop;
  end if;

  if jsonb_typeof(schema->'allOf') = 'array' then
    for branch in select jsonb_array_elements(schema->'allOf') loop
      error := json_schema_error(branch, value, path);
      if error is not null then
        return error;
      end if;
    end loop;
  end if;
  if jsonb_typeof(schema->'not') = 'object' and json_schema_error(schema->'not', value, path) is null then
    return format('%s: must not match %s', path, schema->'not');
  end if;
  foreach key in array array['anyOf', 'oneOf'] loop
    continue when jsonb_typeof(schema->key) is distinct from 'array';
    passed := 0;
    first_error := null;
    expected := array[]::text[];
    for branch in select jsonb_array_elements(schema->key) loop
      error := json_schema_error(branch, value, path);
      if error is null then
        passed := passed + 1;
      elsif error like path || ': expected %' and error not like path || ': expected one of %' and branch ? 'type' then
        -- This branch wants another type: name the types of all such branches together.
        expected := expected || array(select jsonb_array_elements_text(
          case jsonb_typeof(branch->'type') when 'array' then branch->'type' else jsonb_build_array(branch->'type') end));
      elsif first_error is null then
        -- The closest branch (right type, wrong content) says what is wrong.
        first_error := error;
      end if;
    end loop;
    if passed = 0 then
      return coalesce(first_error, format('%s: expected %s, got %s', path, array_to_string(expected, ' or '), kind));
    end if;
    if key = 'oneOf' and passed > 1 then
      return format('%s: matches %s of the oneOf schemas, must match exactly one', path, passed);
    end if;
  end loop;
  return null;
end
$$;

-- The tenants add_job accepts: the local one, any that an API key names, any
-- that already owns a job (a JWT's tenant has none of its own rows until then).
create function tenant_exists(tenant_id text) returns boolean language sql stable as $$
  select tenant_id = 'default'
      or exists (select from api_key where api_key.tenant_id = tenant_exists.tenant_id)
      or exists (select from job where job.tenant_id = tenant_exists.tenant_id)
$$;

-- Reads one option of add_job, refusing a value of the wrong JSON type.
create function add_job_option(options jsonb, name text, json_type text) returns jsonb language plpgsql immutable as $$
begin
  if options->name is null or options->name = 'null'::jsonb then
    return null;
  end if;
  if jsonb_typeof(options->name) <> json_type then
    raise exception 'options.%: must be a JSON %, got %', name, json_type, jsonb_typeof(options->name)
      using errcode = 'invalid_parameter_value', column = 'options.' || name;
  end if;
  return options->name;
end
$$;

-- An integer option within bounds (null when absent).
create function add_job_int_option(options jsonb, name text, low bigint, high bigint) returns bigint language plpgsql immutable as $$
declare
  value numeric := add_job_option(options, name, 'number')::numeric;
begin
  if value is null then
    return null;
  end if;
  if value <> trunc(value) then
    raise exception 'options.%: must be an integer', name using errcode = 'invalid_parameter_value', column = 'options.' || name;
  end if;
  if value < low then
    raise exception 'options.%: must be at least %', name, low using errcode = 'invalid_parameter_value', column = 'options.' || name;
  end if;
  if value > high then
    raise exception 'options.%: must be at most %', name, high using errcode = 'invalid_parameter_value', column = 'options.' || name;
  end if;
  return value;
end
$$;

-- Enqueues one job in the caller's transaction; answers its id (with an
-- idempotency key its tenant holds: the job that holds it, and nothing is
-- written). Options, as createJob's input names them: tenantId (default
-- 'default'), queueName, priority, maxRetries, scheduledAt, parentJobId,
-- metadata, idempotencyKey, idempotencyKeyFreeAfterMs, dependsOn,
-- dependencyFailure, timeoutMs, concurrencyKey, concurrencyLimit. Any other
-- option is refused by name. Bad input raises invalid_parameter_value
-- (SQLSTATE 22023), its message '<field>: <what is wrong>' and the field in
-- the error's column, and writes nothing (the caller's transaction is aborted).
-- Security definer: a role granted EXECUTE on it enqueues without rights on
-- the tables; it may name any existing tenant, so grant it to trusted roles only.
create function add_job(job_type text, payload jsonb default '{}', options jsonb default '{}')
returns uuid language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  supported constant text[] := array['tenantId', 'queueName', 'priority', 'maxRetries', 'scheduledAt', 'parentJobId',
    'metadata', 'idempotencyKey', 'idempotencyKeyFreeAfterMs', 'dependsOn', 'dependencyFailure', 'timeoutMs',
    'concurrencyKey', 'concurrencyLimit'];
  unsupported text;
  registered record;
  error text;
  new_id uuid := gen_random_uuid();
  tenant text;
  queue text;
  job_priority integer;
  job_max_retries integer;
  job_scheduled_at timestamptz;
  parent_id uuid;
  job_metadata jsonb;
  key text;
  key_free_after bigint;
  held record;
  depends_on uuid[] := array[]::uuid[];
  dependency_failure text;
  dependency record;
  waits boolean := false;
  job_timeout integer;
  job_concurrency_key text;
  job_concurrency_limit integer;
  entry_id bigint;
  task text;
  task_id integer;
  position integer;
begin
  options := coalesce(options, '{}'::jsonb);
  if jsonb_typeof(options) <> 'object' then
    raise exception 'options: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'options';
  end if;
  select string_agg(o, ', ' order by o) into unsupported from jsonb_object_keys(options) as o where o <> all (supported);
  if unsupported is not null then
    raise exception 'options: % not supported by add_job (supported: %)', unsupported, array_to_string(supported, ', ')
      using errcode = 'invalid_parameter_value', column = 'options';
  end if;

  if add_job.job_type is null or add_job.job_type = '' then
    raise exception 'jobType: must not be empty' using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;
  select t.* into registered from job_type as t where t.name = add_job.job_type;
  if not found then
    raise exception 'jobType: unknown job type "%"; no worker has registered it', add_job.job_type
      using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;
  if registered.kind <> 'PLAIN' then
    raise exception 'jobType: jobs of type "%" are % jobs and have their own create mutation', add_job.job_type, registered.kind
      using errcode = 'invalid_parameter_value', column = 'jobType';
  end if;

  payload := coalesce(payload, '{}'::jsonb);
  if jsonb_typeof(payload) <> 'object' then
    raise exception 'payload: must be a JSON object' using errcode = 'invalid_parameter_value', column = 'payload';
  end if;
  if octet_length(payload::text) > 262144 then
    raise exception 'payload: must be at most 262144 bytes of JSON' using errcode = 'invalid_parameter_value', column = 'payload';
  end if;
  error := json_schema_error(registered.payload_schema, payload, 'payload');
  if error is not null then
    raise exception '%', error using errcode = 'invalid_parameter_value', column = split_part(error, ':', 1);
  end if;

  tenant := coalesce(add_job_option(options, 'tenantId', 'string') #>> '{}', 'default');
  if not tenant_exists(tenant) then
    raise exception 'options.tenantId: no tenant "%"', tenant using errcode = 'invalid_parameter_value', column = 'options.tenantId';
  end if;
  queue := coalesce(add_job_option(options, 'queueName', 'string') #>> '{}', registered.default_queue_name);
  if queue !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' then
    raise exception 'options.queueName: must be 1-64 letters, digits or _.:- and start with a letter or digit'
      using errcode = 'invalid_parameter_value', column = 'options.queueName';
  end if;
  job_priority := coalesce(add_job_int_option(options, 'priority', -1000, 1000), registered.default_priority);
  job_max_retries := coalesce(add_job_int_option(options, 'maxRetries', 0, 100), registered.default_max_retries);
  begin
    job_scheduled_at := (add_job_option(options, 'scheduledAt', 'string') #>> '{}')::timestamptz;
  exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'options.scheduledAt: must be a date-time' using errcode = 'invalid_parameter_value', column = 'options.scheduledAt';
  end;
  job_metadata := coalesce(add_job_option(options, 'metadata', 'object'), '{}'::jsonb);
  job_timeout := coalesce(add_job_int_option(options, 'timeoutMs', 1, 86400000), registered.default_timeout_ms);
  job_concurrency_key := add_job_option(options, 'concurrencyKey', 'string') #>> '{}';
  job_concurrency_limit := add_job_int_option(options, 'concurrencyLimit', 1, 10000);
  if job_concurrency_key is not null and length(job_concurrency_key) not between 1 and 200 then
    raise exception 'options.concurrencyKey: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'options.concurrencyKey';
  end if;
  if job_concurrency_limit is not null and job_concurrency_key is null then
    raise exception 'options.concurrencyLimit: needs a concurrencyKey' using errcode = 'invalid_parameter_value', column = 'options.concurrencyLimit';
  end if;
  if job_concurrency_key is not null then
    job_concurrency_limit := coalesce(job_concurrency_limit, registered.default_concurrency_limit, 1);
  end if;

  begin
    parent_id := (add_job_option(options, 'parentJobId', 'string') #>> '{}')::uuid;
  exception when invalid_text_representation then
    raise exception 'options.parentJobId: must be a job id (UUID)' using errcode = 'invalid_parameter_value', column = 'options.parentJobId';
  end;
  if parent_id is not null and not exists (select from job where id = parent_id and job.tenant_id = tenant) then
    raise exception 'options.parentJobId: no job with id %', parent_id using errcode = 'invalid_parameter_value', column = 'options.parentJobId';
  end if;

  -- Unique jobs (src/flow/idempotency.ts): the key is claimed before the job
  -- row is written; a key the tenant holds answers its job and writes nothing.
  key := add_job_option(options, 'idempotencyKey', 'string') #>> '{}';
  key_free_after := add_job_int_option(options, 'idempotencyKeyFreeAfterMs', 0, 9223372036854775807);
  if key is not null and length(key) not between 1 and 200 then
    raise exception 'options.idempotencyKey: must be 1-200 characters' using errcode = 'invalid_parameter_value', column = 'options.idempotencyKey';
  end if;
  if key_free_after is not null and key is null then
    raise exception 'options.idempotencyKeyFreeAfterMs: needs an idempotencyKey'
      using errcode = 'invalid_parameter_value', column = 'options.idempotencyKeyFreeAfterMs';
  end if;

  -- Dependencies (src/flow/dependencies.ts): locked, so none finishes unseen before this commits.
  if add_job_option(options, 'dependsOn', 'array') is not null then
    if jsonb_array_length(options->'dependsOn') > 100 then
      raise exception 'options.dependsOn: must name at most 100 jobs' using errcode = 'invalid_parameter_value', column = 'options.dependsOn';
    end if;
    for position in 0 .. jsonb_array_length(options->'dependsOn') - 1 loop
      begin
        depends_on := depends_on || ((options->'dependsOn'->>position)::uuid);
      exception when invalid_text_representation then
        raise exception 'options.dependsOn.%: must be a job id (UUID)', position
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || position;
      end;
    end loop;
  end if;
  dependency_failure := coalesce(add_job_option(options, 'dependencyFailure', 'string') #>> '{}', 'CANCEL');
  if dependency_failure not in ('CANCEL', 'RUN') then
    raise exception 'options.dependencyFailure: must be CANCEL or RUN' using errcode = 'invalid_parameter_value', column = 'options.dependencyFailure';
  end if;

  if key is not null then
    loop
      insert into job_idempotency_key (tenant_id, idempotency_key, job_id, free_after_ms)
      values (tenant, key, new_id, key_free_after)
      on conflict (tenant_id, idempotency_key) do nothing;
      exit when found;
      select k.job_id,
             (k.free_after_ms is not null
              and job.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
              and coalesce(job.completed_at, job.failed_at, job.cancelled_at) + k.free_after_ms * interval '1 millisecond' <= now()) as free
        into held
        from job_idempotency_key as k join job on job.id = k.job_id
       where k.tenant_id = tenant and k.idempotency_key = key
         for update of k;
      -- Its job was deleted (retention) between the insert and the read: try again.
      continue when not found;
      if not held.free then
        return held.job_id;
      end if;
      update job_idempotency_key set job_id = new_id, free_after_ms = key_free_after, created_at = now()
       where tenant_id = tenant and idempotency_key = key;
      exit;
    end loop;
  end if;

  if cardinality(depends_on) > 0 then
    for dependency in
      select d.position, d.id, job.status
        from unnest(depends_on) with ordinality as d(id, position)
        left join job on job.id = d.id and job.tenant_id = tenant
       order by d.id
    loop
      if dependency.status is null then
        raise exception 'options.dependsOn.%: no job with id %', dependency.position - 1, dependency.id
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || (dependency.position - 1);
      end if;
      if dependency.status in ('FAILED', 'DEAD_LETTER', 'CANCELLED') and dependency_failure = 'CANCEL' then
        raise exception 'options.dependsOn.%: job % is % and will not complete; pass dependencyFailure: RUN to run anyway',
          dependency.position - 1, dependency.id, dependency.status
          using errcode = 'invalid_parameter_value', column = 'options.dependsOn.' || (dependency.position - 1);
      end if;
      if dependency.status not in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED') then
        waits := true;
      end if;
    end loop;
    perform from job where id = any(depends_on) order by id for update;
    update job set has_dependents = true where id = any(depends_on) and not has_dependents;
  end if;

  -- The queue entry first, so the job row is written once, with its entry's id
  -- (as src/job-state/insert.ts; task, retries and priority as queue-entry.ts
  -- writes them). A task new to the database is announced to workers on
  -- commit, as queue-entry.ts's announceNewTasks does. The entry is written
  -- into graphile-worker's table directly (as job_settle_dependents updates
  -- it), not through graphile_worker.add_jobs: called once per job, add_jobs
  -- cost about 1 ms a call, growing with the entries of the transaction (its
  -- job-key update scans them), where this insert costs some 0.05 ms.
  task := job_task_identifier(add_job.job_type, queue);
  select id into task_id from graphile_worker._private_tasks where identifier = task;
  if not found then
    insert into graphile_worker._private_tasks (identifier) values (task) on conflict do nothing returning id into task_id;
    if task_id is null then
      select id into task_id from graphile_worker._private_tasks where identifier = task;
    else
      perform pg_notify('jobwire_job_task', task);
    end if;
  end if;
  insert into graphile_worker._private_jobs (task_id, payload, run_at, max_attempts, priority)
  values (task_id, json_build_object('jobId', new_id),
          case when waits then '2999-01-01T00:00:00Z'::timestamptz else coalesce(job_scheduled_at, now()) end,
          job_max_retries + 10, -job_priority)
  returning id into entry_id;
  -- graphile-worker's wake-up for new work, sent on commit (identical notifications of one transaction fold into one).
  perform pg_notify('jobs:insert', '');

  insert into job (id, kind, queue_name, job_type, payload, priority, max_retries, scheduled_at, status,
                   parent_job_id, created_by, metadata, queue_entry_id, tenant_id, waiting_reason,
                   timeout_ms, concurrency_key, concurrency_limit)
  values (new_id, 'PLAIN', queue, add_job.job_type, payload, job_priority, job_max_retries, job_scheduled_at,
          case when job_scheduled_at > now() then 'SCHEDULED' else 'PENDING' end::job_status,
          parent_id, 'sql:' || session_user, job_metadata, entry_id, tenant,
          case when waits then 'DEPENDENCIES' end::job_waiting_reason,
          job_timeout, job_concurrency_key, job_concurrency_limit);

  if cardinality(registered.steps) > 0 then
    insert into job_step (job_id, name, position)
    select new_id, s.name, (s.position - 1)::integer from unnest(registered.steps) with ordinality as s(name, position);
  end if;

  if cardinality(depends_on) > 0 then
    insert into job_dependency (job_id, depends_on_job_id, on_failure)
    select new_id, d, dependency_failure from (select distinct unnest(depends_on) as d) as x;
  end if;
  return new_id;
end
$$;

revoke all on function add_job(text, jsonb, jsonb) from public;
