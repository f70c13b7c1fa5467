// `jobwire codegen --out <dir>`: writes the typed client (src/codegen/typed-client.ts)
// for the job types registered in the database (DATABASE_URL or --database-url),
// or, with --endpoint, those a running service lists (its jobTypes query).
import path from 'node:path';
import type { Command } from 'commander';
import pg from 'pg';
import { codegenTypedClient, fetchJobTypes, readJobTypes } from '../codegen/typed-client.ts';
import { EXIT_USAGE } from '../startup-errors.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase } from './database.ts';

const CODEGEN_FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

interface CodegenOptions {
  out: string;
  endpoint?: string;
  token?: string;
}

async function fromDatabase(url: string, out: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'jobwire-codegen' });
  try {
    return await codegenTypedClient(await readJobTypes(pool), out);
  } finally {
    await pool.end();
  }
}

export function addCodegenCommand(program: Command) {
  const command = program
    .command('codegen')
    .description('write a typed TypeScript client (payload and result types, createJob) for the registered job types (docs/typed-clients.md)')
    .requiredOption('--out <dir>', 'folder to write the client into (created if missing; its files are overwritten)')
    .option('--endpoint <url>', "read the job types from a running service's /graphql (jobTypes query) instead of the database")
    .option('--token <token>', 'API key or JWT for --endpoint (default: JOBWIRE_TOKEN)');
  const fromDb = withOperatorDatabase(async ({ url }, options: CodegenOptions, _command: Command) => {
    for (const file of await fromDatabase(url, path.resolve(options.out))) console.log(`wrote ${file}`);
  });
  addSettingFlags(command, CODEGEN_FLAGS).action(async (options: CodegenOptions, cmd: Command) => {
    if (!options.endpoint) return fromDb(options, cmd);
    try {
      const jobTypes = await fetchJobTypes(options.endpoint, options.token ?? process.env.JOBWIRE_TOKEN);
      for (const file of await codegenTypedClient(jobTypes, path.resolve(options.out))) console.log(`wrote ${file}`);
    } catch (error) {
      console.error((error as Error).message);
      process.exitCode = EXIT_USAGE;
    }
  });
}
