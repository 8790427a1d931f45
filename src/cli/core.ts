/**
 * The core for a one-shot CLI verb (jobs run, digest): the same services as `start`, with log lines on stderr so
 * stdout carries only the verb's own output, and quiet unless LOG_LEVEL asks for more.
 */
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';

export async function buildCliCore(env: NodeJS.ProcessEnv) {
  const config = loadConfig(env);
  const { buildCore } = await import('../main.js');
  return buildCore(config, {
    env,
    logDestination: pino.destination({ dest: 2, sync: true }),
    logLevel: env.LOG_LEVEL ? config.LOG_LEVEL : 'warn',
  });
}
