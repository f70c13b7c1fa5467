// Search over many stored jobs: the first page (first: 50) of GraphQL
// jobs(filter) with a metadata-containment filter, and with tags, payload
// containment and error text, as a tenant's API key sees them (the tenant
// filter applies) and as an admin. Prints p50/p99 per filter and the EXPLAIN
// ANALYZE plan of the SQL the selective metadata search runs.
// Against a real Postgres (embedded, or BENCH_DATABASE_URL).
//   npm run bench:search   (BENCH_STORED_JOBS=1000000 BENCH_SEARCH_QUERIES=200)
import { createApiKey } from '../src/auth/api-keys.ts';
import { startApp } from '../src/app.ts';
import { createPool } from '../src/db/pool.ts';
import { searchPageQuery, type JobSearch } from '../src/jobs/search.ts';
import { loadConfig } from '../src/service-config.ts';
import { logger, percentile, report, round, startBenchServer } from './support.ts';

const STORED_JOBS = Number(process.env.BENCH_STORED_JOBS ?? 1_000_000);
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 200);
/** Distinct customers in metadata: each is in about STORED_JOBS / CUSTOMERS jobs. */
const CUSTOMERS = Math.max(1, Math.floor(STORED_JOBS / 100));
/** 90 % of the jobs are the searching tenant's, the rest spread over 9 others. */
const TENANT = 'tenant-0';

const server = await startBenchServer();
const databaseUrl = await server.database('bench_search');
const pool = createPool(databaseUrl, 4, logger);
let app: Awaited<ReturnType<typeof startApp>> | undefined;
try {
  // Rows straight into the table, in batches (not through the API: a million
  // creates would take an hour). Triggers are off for the load (no event rows,
  // no notifications): what the search reads is the job table and its indexes.
  let started = performance.now();
  const BATCH = 100_000;
  for (let from = 0; from < STORED_JOBS; from += BATCH) {
    const to = Math.min(STORED_JOBS, from + BATCH) - 1;
    const client = await pool.connect();
    try {
      await client.query(`set session_replication_role = replica`);
      await client.query(
        `insert into job (job_type, queue_name, status, tenant_id, created_by, created_at, metadata, payload, tags, error_message, started_at, failed_at)
         select 'system.noop', 'q' || (i % 10), case when i % 50 = 5 then 'FAILED'::job_status else 'COMPLETED'::job_status end,
                case when i % 10 = 0 then 'tenant-' || (1 + (i / 10) % 9) else $3 end,
                'key:' || (i % 20),
                now() - make_interval(secs => ($2 - i) * 0.5),
                jsonb_build_object('customer', 'c' || (i % $4), 'region', case when i % 2 = 0 then 'eu' else 'us' end, 'source', 'bench'),
                jsonb_build_object('orderId', i, 'customer', 'c' || (i % $4)),
                array['customer:c' || (i % $4), case when i % 2 = 0 then 'eu' else 'us' end],
                case when i % 50 = 5 then 'upstream ' || (case when i % 100 = 5 then 'timeout' else 'refused' end) || ' on order ' || i else null end,
                case when i % 50 = 5 then now() - make_interval(secs => ($2 - i) * 0.5) end,
                case when i % 50 = 5 then now() - make_interval(secs => ($2 - i) * 0.5) end
           from generate_series($1::int, $5::int) as i`,
        [from, STORED_JOBS, TENANT, CUSTOMERS, to],
      );
    } finally {
      await client.query(`reset session_replication_role`);
      client.release();
    }
  }
  await pool.query('vacuum analyze job');
  const loadSeconds = (performance.now() - started) / 1000;
  console.log(`loaded ${STORED_JOBS} jobs in ${round(loadSeconds)} s`);

  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: '0', AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '60000', LOG_LEVEL: 'warn' });
  app = await startApp(config, logger, { api: true, worker: false });
  const tenantKey = (await createApiKey(pool, { name: 'bench tenant', tenantId: TENANT, scopes: ['jobs:read'] })).key;
  const adminKey = (await createApiKey(pool, { name: 'bench admin', tenantId: 'ops', scopes: ['admin'] })).key;
  const url = app.api!.url;

  const QUERY = `query($filter: JobFilter) { jobs(filter: $filter, first: 50) { edges { node { id status createdAt tags } } } }`;
  async function run(key: string, filter: JobSearch): Promise<number> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: QUERY, variables: { filter } }),
    });
    const body = (await response.json()) as { data?: { jobs: { edges: unknown[] } }; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`search failed: ${JSON.stringify(body.errors)}`);
    return body.data.jobs.edges.length;
  }

  // A different customer each query (not one cached page).
  const customer = (n: number) => `c${(n * 7919) % CUSTOMERS}`;
  const cases: Array<{ name: string; key: string; tenantId: string | null; filter: (n: number) => JobSearch }> = [
    { name: 'metadata @> {customer} (tenant key)', key: tenantKey, tenantId: TENANT, filter: (n) => ({ metadataContains: { customer: customer(n) } }) },
    { name: 'metadata @> {customer} (admin)', key: adminKey, tenantId: null, filter: (n) => ({ metadataContains: { customer: customer(n) } }) },
    { name: 'metadata @> {region} (half the jobs, tenant key)', key: tenantKey, tenantId: TENANT, filter: () => ({ metadataContains: { region: 'eu' } }) },
    { name: 'payload @> {customer} (tenant key)', key: tenantKey, tenantId: TENANT, filter: (n) => ({ payloadContains: { customer: customer(n) } }) },
    { name: 'tags [customer] (tenant key)', key: tenantKey, tenantId: TENANT, filter: (n) => ({ tags: [`customer:${customer(n)}`] }) },
    { name: 'errorContains "timeout" (tenant key)', key: tenantKey, tenantId: TENANT, filter: () => ({ errorContains: 'timeout' }) },
    { name: 'no filter (tenant key)', key: tenantKey, tenantId: TENANT, filter: () => ({}) },
  ];
  const rows: Array<Record<string, unknown>> = [];
  for (const scenario of cases) {
    for (let n = 0; n < Math.min(20, QUERIES); n++) await run(scenario.key, scenario.filter(n + 100_000));
    const samples: number[] = [];
    let found = 0;
    for (let n = 0; n < QUERIES; n++) {
      started = performance.now();
      found += await run(scenario.key, scenario.filter(n));
      samples.push(performance.now() - started);
    }
    samples.sort((x, y) => x - y);
    // The same page's SQL alone (src/jobs/search.ts; the Prisma path for the unfiltered list is
    // the same order and limit): what the database costs, apart from HTTP, auth and GraphQL.
    const sql: number[] = [];
    for (let n = 0; n < QUERIES; n++) {
      const { text, values } = searchPageQuery(scenario.tenantId, scenario.filter(n), { take: 51 });
      started = performance.now();
      await pool.query(text, values);
      sql.push(performance.now() - started);
    }
    sql.sort((x, y) => x - y);
    rows.push({
      search: scenario.name,
      queries: QUERIES,
      'jobs/page (mean)': round(found / QUERIES),
      'p50 ms': round(percentile(samples, 50), 2),
      'p99 ms': round(percentile(samples, 99), 2),
      'SQL p50 ms': round(percentile(sql, 50), 2),
      'SQL p99 ms': round(percentile(sql, 99), 2),
    });
  }

  const planOf = async (tenantId: string | null, search: JobSearch) => {
    const { text, values } = searchPageQuery(tenantId, search, { take: 51 });
    const { rows: plan } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values);
    return `${text}\n  -- ${JSON.stringify(values)}\n${plan.map((row) => row['QUERY PLAN']).join('\n')}`;
  };
  const plans = {
    metadataCustomerTenant: await planOf(TENANT, { metadataContains: { customer: customer(1) } }),
    metadataRegionTenant: await planOf(TENANT, { metadataContains: { region: 'eu' } }),
  };
  console.log(`\nEXPLAIN ANALYZE, metadata @> {customer} with the tenant (the SQL jobs(filter) runs for its page of ids; first: 50 asks 51):\n${plans.metadataCustomerTenant}`);
  console.log(`\nEXPLAIN ANALYZE, metadata @> {region} (half the jobs) with the tenant:\n${plans.metadataRegionTenant}`);
  const target = Number(rows[0]!['p50 ms']);
  // Issue 26's target names 1,000,000 stored jobs: at fewer, the figure is shown without it.
  const headline = [
    { figure: `${rows[0]!.search}, first page p50 ms (${STORED_JOBS.toLocaleString('en')} jobs stored)`, value: target, ...(STORED_JOBS >= 1_000_000 ? { target: '≤ 20', held: target <= 20 } : {}) },
  ];
  await report('search', rows, { storedJobs: STORED_JOBS, customers: CUSTOMERS, loadSeconds: round(loadSeconds), plans, headline });
  if (STORED_JOBS >= 1_000_000) console.log(`\nmetadata containment, first page, p50 ${target} ms (target <= 20 ms): ${target <= 20 ? 'met' : 'NOT met'}`);
} finally {
  await app?.stop();
  await pool.end();
  await server.stop();
}
