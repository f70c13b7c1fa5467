// The jobwire CLI (commander): the service commands, and the operator's `jobs`,
// `keys` and `connections` commands, which work on the database directly (an
// operator who holds its credentials is an admin).
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, StartupError } from '../startup-errors.ts';
import { addCodegenCommand } from './codegen.ts';
import { addConnectionsCommands } from './connections.ts';
import { addJobsCommands } from './jobs.ts';
import { addKeysCommands } from './keys.ts';
import { addServiceCommands, SERVICE_COMMANDS } from './service.ts';
import { addTenantQuotaCommands } from './tenant-quotas.ts';
import { addTenantSchedulingCommands } from './tenant-scheduling.ts';

export function createProgram(): Command {
  const program = new Command('jobwire')
    .description('Background jobs on Postgres with a live GraphQL API. Settings come from environment variables (docs/configuration.md); flags override them.')
    .configureHelp({ sortSubcommands: false });
  addServiceCommands(program);
  addJobsCommands(program);
  addKeysCommands(program);
  addConnectionsCommands(program);
  // One `tenants` group for the operator's per-tenant settings (scheduling, then quotas).
  addTenantSchedulingCommands(program.command('tenants').description('per-tenant settings of the operator (works on the database directly)'));
  addTenantQuotaCommands(program);
  addCodegenCommand(program);
  forEachCommand(program, (command) =>
    command
      // A mistake on the command line is one line on stderr and exit status 2,
      // as any other start-up failure (startup-errors.ts); no help dumped after it.
      .configureOutput({ outputError: () => {} })
      .exitOverride((error) => {
        throw usageError(error, command);
      }),
  );
  return program;
}

/** Runs the command argv names; --help and the like end it with their own exit status. */
export async function runProgram(argv: readonly string[]): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return;
    throw error;
  }
}

function forEachCommand(command: Command, visit: (command: Command) => void) {
  visit(command);
  for (const sub of command.commands) forEachCommand(sub, visit);
}

/** Commander's message as jobwire's one line: what is wrong, then where the help is. */
function usageError(error: CommanderError, command: Command): Error {
  // --help, --version, and a command group run without a command (its help, on stderr).
  if (error.code.startsWith('commander.help') || error.code === 'commander.version') return error;
  const path: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) path.unshift(at.name());
  const [message, suggestion] = error.message.replace(/^error: /, '').split('\n');
  const hint = suggestion ? ` ${suggestion.replace(/^\(Did/, '(did')}` : '';
  let text: string;
  if (error.code === 'commander.unknownOption') {
    text = `${message!.replace(/'(-[^']*)'/, '$1')}${hint}`;
  } else if (error.code === 'commander.unknownCommand') {
    const name = /'([^']*)'/.exec(message!)?.[1];
    text = `unknown command "${name}": commands are ${command.commands.map((sub) => sub.name()).join(', ')}${hint}`;
  } else {
    text = `${message}${hint}`;
  }
  // The service commands (and the default one) point at the top-level help, as
  // before the CLI had command groups; a `jobs` command at its own.
  const inService = path.length === 0 || SERVICE_COMMANDS.includes(path[0]!);
  return new StartupError(`${text}; see jobwire${inService ? '' : ` ${path.join(' ')}`} --help`, EXIT_USAGE);
}
