// The common settings as command-line flags beside the environment variables:
// a flag overrides its variable, and both go through the same validation
// (config.ts), so a bad flag stops the command with a message naming it.
import { Option, type Command } from 'commander';
import { ConfigError, loadConfig, type ServiceConfig } from '../service-config.ts';

/** Flag → environment variable it overrides. */
const FLAGS = {
  host: { flag: '--host <host>', variable: 'HOST', help: 'where the API listens' },
  port: { flag: '--port <port>', variable: 'PORT', help: 'API port' },
  databaseUrl: { flag: '--database-url <url>', variable: 'DATABASE_URL', help: 'Postgres to use (default: the embedded one)' },
  metricsPort: { flag: '--metrics-port <port>', variable: 'METRICS_PORT', help: 'serve Prometheus metrics at /metrics on this port' },
  metricsHost: { flag: '--metrics-host <host>', variable: 'METRICS_HOST', help: 'where the metrics endpoint listens' },
  logLevel: { flag: '--log-level <level>', variable: 'LOG_LEVEL', help: 'pino level' },
} as const;

export type SettingFlag = keyof typeof FLAGS;

export function addSettingFlags(command: Command, flags: readonly SettingFlag[]): Command {
  for (const name of flags) {
    const { flag, variable, help } = FLAGS[name];
    command.addOption(new Option(flag, `${help} (overrides ${variable})`));
  }
  return command;
}

/** The configuration from the environment with the command's flags on top; a bad value exits with status 2. */
export function configFromFlags(options: Partial<Record<SettingFlag, string>>, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const overrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(options)) {
    if (name in FLAGS && typeof value === 'string') overrides[FLAGS[name as SettingFlag].variable] = value;
  }
  try {
    return loadConfig({ ...env, ...overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      // Name the flag beside the variable it sets.
      const message = Object.entries(overrides).reduce(
        (text, [variable]) => text.replaceAll(`${variable}:`, `${variable} (${flagOf(variable)}):`),
        error.message,
      );
      console.error(message);
      process.exit(2);
    }
    throw error;
  }
}

function flagOf(variable: string): string {
  return Object.values(FLAGS).find((entry) => entry.variable === variable)!.flag.split(' ')[0]!;
}
