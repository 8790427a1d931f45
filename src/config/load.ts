import { type Config, configSchema } from './schema.js';

/** The configuration cannot work; the CLI prints the message (no stack trace) and exits with 78 (EX_CONFIG). */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    message = `Quartermaster cannot start: the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A value that parses but that its service refuses (a revoked token, a host name that does not resolve): one
 * sentence naming the variable. Exit code 78 like any other configuration problem.
 */
export class StartupConfigError extends ConfigError {
  constructor(problem: string) {
    super([problem], `Quartermaster cannot start: ${problem}`);
    this.name = 'StartupConfigError';
  }
}

/** Parse the environment once; throws a ConfigError listing every problem, each naming its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const result = configSchema.safeParse(picked);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'configuration');
      return i.message.includes(name) ? i.message : `${name}: ${i.message}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  return Object.freeze(result.data);
}
