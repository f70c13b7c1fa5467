// The jobwire CLI (commander): the service commands, and the operator's `jobs`
// commands, which work on the database directly (an operator who holds its
// credentials is an admin).
import { Command } from 'commander';
import { addJobsCommands } from './jobs.ts';
import { addServiceCommands } from './service.ts';

export function createProgram(): Command {
  const program = new Command('jobwire')
    .description('Background jobs on Postgres with a live GraphQL API. Settings come from environment variables (README.md); flags override them.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  addServiceCommands(program);
  addJobsCommands(program);
  // keys create|list|revoke (issue 13, API keys): src/cli/keys.ts adds its group here, e.g. addKeysCommands(program).
  return program;
}
