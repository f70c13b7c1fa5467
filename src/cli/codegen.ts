// `jobwire codegen --out <dir>`: writes the typed client (src/codegen/typed-client.ts)
// for the job types registered in the database (DATABASE_URL or --database-url).
import path from 'node:path';
import type { Command } from 'commander';
import pg from 'pg';
import { codegenTypedClient } from '../codegen/typed-client.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase } from './database.ts';

const CODEGEN_FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

export function addCodegenCommand(program: Command) {
  const command = program
    .command('codegen')
    .description("write a typed TypeScript client (payload and result types, createJob) for the job types registered in the database")
    .requiredOption('--out <dir>', 'folder to write the client into (created if missing; its files are overwritten)');
  addSettingFlags(command, CODEGEN_FLAGS).action(
    withOperatorDatabase(async ({ url }, options: { out: string }) => {
      const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'jobwire-codegen' });
      try {
        const written = await codegenTypedClient(pool, path.resolve(options.out));
        for (const file of written) console.log(`wrote ${file}`);
      } finally {
        await pool.end();
      }
    }),
  );
}
