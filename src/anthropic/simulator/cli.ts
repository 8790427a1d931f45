import { type Simulator, startSimulator } from './index.js';

export interface SimulatorCliIo {
  log: (line: string) => void;
}

/**
 * `quartermaster simulator [--port N] [--host H] [--seed demo|empty]`: runs the Admin API simulator in the
 * foreground until SIGINT/SIGTERM. Resolves with the running simulator so callers (and tests) can close it.
 */
export async function runSimulatorCli(argv: string[], io: SimulatorCliIo = { log: console.log }): Promise<Simulator> {
  let port = 4010;
  let host = '127.0.0.1';
  let seed: 'demo' | 'empty' = 'demo';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--port' || flag === '-p') {
      const v = value();
      port = Number(v);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${v}`);
    } else if (flag === '--host') {
      host = value();
    } else if (flag === '--seed') {
      const v = value();
      if (v !== 'demo' && v !== 'empty') throw new Error(`--seed must be demo or empty, got ${v}`);
      seed = v;
    } else if (flag === '--help' || flag === '-h') {
      io.log('Usage: quartermaster simulator [--port 4010] [--host 127.0.0.1] [--seed demo|empty]');
    } else {
      throw new Error(`Unknown option ${arg}`);
    }
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
