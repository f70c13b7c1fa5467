// A process that cannot start says why in one line on stderr and exits
// non-zero, so a person or a supervisor sees the cause at once: never a stack
// trace, never a hang.

/** A start-up failure whose message already says what is wrong and what to do. */
export class StartupError extends Error {
  override name = 'StartupError';
  constructor(
    message: string,
    /** 2: the command line or configuration is wrong; 1: anything else. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
}

/** The one line and exit code for an error thrown while starting. */
export function describeStartupFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof StartupError) return { message: error.message, exitCode: error.exitCode };
  const system = (error ?? {}) as SystemError;
  // node:util parseArgs: an unknown option, a missing value, ...
  if (typeof system.code === 'string' && system.code.startsWith('ERR_PARSE_ARGS_')) {
    const option = /'(-[^']*)'/.exec(system.message)?.[1];
    const problem = system.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option ? `unknown option ${option}` : system.message.split('. ')[0];
    return { message: `${problem}; see jobwire --help`, exitCode: EXIT_USAGE };
  }
  if (system.syscall === 'listen' && (system.code === 'EADDRINUSE' || system.code === 'EACCES')) {
    const where = `${system.address ?? 'HOST'}:${system.port ?? 'PORT'}`;
    const why = system.code === 'EADDRINUSE' ? 'the port is in use (another jobwire?)' : 'permission denied (a port under 1024 needs root)';
    return { message: `the API cannot listen on ${where}: ${why}. Stop what listens there, or set PORT (and HOST) to a free port.`, exitCode: EXIT_FAILURE };
  }
  if (system.code === 'EACCES' && system.path) {
    return { message: `permission denied on ${system.path} (${system.syscall ?? 'access'}): check DATA_DIR, or run as a user who may write there.`, exitCode: EXIT_FAILURE };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `start-up failed: ${message.split('\n')[0]} (LOG_LEVEL=debug prints the stack)`, exitCode: EXIT_FAILURE };
}

/** Prints the one line on stderr and exits with its code. */
export function exitOnStartupFailure(error: unknown, options: { printStack?: boolean } = {}): never {
  const { message, exitCode } = describeStartupFailure(error);
  process.stderr.write(`jobwire: ${message}\n`);
  if (options.printStack && error instanceof Error && !(error instanceof StartupError)) process.stderr.write(`${error.stack}\n`);
  process.exit(exitCode);
}
