import { type OptionSpecs, parseCommandLine, UsageError } from '../../cli/args.js';
import { type Simulator, startSimulator } from './index.js';

export interface SimulatorCliIo {
  log: (line: string) => void;
}

/**
 * `quartermaster simulator [--port N] [--host H] [--seed demo|empty|large]`: runs the Admin API simulator in the
 * foreground until SIGINT/SIGTERM. Resolves with the running simulator so callers (and tests) can close it.
 */
export const SIMULATOR_USAGE = `Usage: npx quartermaster simulator [--port 4010] [--host 127.0.0.1] [--seed demo|empty|large]

Runs the simulated Anthropic Admin API in the foreground until SIGINT or SIGTERM.`;

export const SIMULATOR_OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  seed: { type: 'string' },
} as const satisfies OptionSpecs;

/**
 * `quartermaster simulator [--port N] [--host H] [--seed demo|empty|large]`: runs the Admin API simulator in the
 * foreground until SIGINT/SIGTERM. Resolves with the running simulator so callers (and tests) can close it.
 * A bad command line rejects with a UsageError (the CLI handles --help before calling this).
 */
export async function runSimulatorCli(argv: string[], io: SimulatorCliIo = { log: console.log }): Promise<Simulator> {
  const { values } = parseCommandLine(argv, SIMULATOR_USAGE, SIMULATOR_OPTIONS);
  const port = Number(values.port ?? 4010);
  if (!/^\d+$/.test(String(values.port ?? 4010)) || port > 65535) {
    throw new UsageError(`--port must be a port number (0-65535), not "${values.port}".`, SIMULATOR_USAGE);
  }
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const seed = values.seed ?? 'demo';
  if (seed !== 'demo' && seed !== 'empty' && seed !== 'large') {
    throw new UsageError(`--seed must be demo, empty or large, not "${seed}".`, SIMULATOR_USAGE);
  }

  const sim = await startSimulator({ port, host, seed });
  const s = sim.state;
  io.log(`Anthropic Admin API simulator listening on ${sim.url}`);
  io.log(`Org "${s.orgName}": ${s.summary()}, ${s.invites.length} invites.`);
  io.log('');
  io.log('Point Quartermaster at it with:');
  // The simulator's key is a fixed public placeholder, not a secret, so printing it is fine.
  io.log(`  ANTHROPIC_BASE_URL=${sim.url} ANTHROPIC_ADMIN_KEY=${sim.adminKey} npx quartermaster start`);
  io.log('');
  io.log(`Control: POST ${sim.url}/_simulator/faults  DELETE ${sim.url}/_simulator/faults`);
  io.log(`         POST ${sim.url}/_simulator/reset   GET ${sim.url}/_simulator/state`);
  io.log(`         GET ${sim.url}/_simulator/usage?from=…&to=…  POST ${sim.url}/_simulator/usage/revise`);

  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    void sim.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const close = sim.close;
  sim.close = async () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await close();
  };
  return sim;
}
