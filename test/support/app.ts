/**
 * Starts the real Quartermaster (startQuartermaster: Bolt, the Admin API client, Prisma) wired to local
 * protocol fakes: the Admin API simulator over HTTP, a fake Slack Web API, and an isolated test database.
 * Log lines are captured so tests can prove no secret is ever logged.
 */
import { Writable } from 'node:stream';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { type Quartermaster, startQuartermaster } from '../../src/main.js';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET } from '../fakes/slack.js';
import { createTestDatabaseUrl } from './db.js';

/** Shaped exactly like a real admin key (110 characters), so redaction of the real shape is tested. */
export const ADMIN_KEY = `sk-ant-admin01-${'Q7mZ'.repeat(23)}x_AA`;

export interface TestApp {
  qm: Quartermaster;
  sim: Simulator;
  slack: FakeSlack;
  logs: string[];
  url: string;
  close(): Promise<void>;
}

export async function startTestApp(o: { env?: Record<string, string> } = {}): Promise<TestApp> {
  const db = await createTestDatabaseUrl();
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', adminKeys: [ADMIN_KEY] });
  const slack = await new FakeSlack().start();
  slack
    .addUser({ id: 'UALICE', name: 'alice', email: 'alice@example.com' })
    .addUser({ id: 'UBOB', name: 'bob', email: 'Bob@Example.com' })
    .addUser({ id: 'UCAROL', name: 'carol', email: 'carol@example.com' })
    .addUser({ id: 'UDAVE', name: 'dave', email: 'dave@example.com' })
    .addUser({ id: 'UGUEST', name: 'gina', email: 'gina@example.com', isRestricted: true })
    .addUser({ id: 'UEXT', name: 'xavier', email: 'xavier@partner.example', teamId: 'T0PARTNER', isStranger: true })
    .addUser({ id: 'UNOMAIL', name: 'nomail' })
    .addUser({ id: 'UZED', name: 'zed', email: 'zed@example.com' })
    .addUser({ id: 'UUNCONF', name: 'una', email: 'carol@example.com', emailConfirmed: false });
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const qm = await startQuartermaster({
    env: {
      DATABASE_URL: db.url,
      ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
      ANTHROPIC_BASE_URL: sim.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      ...o.env,
    },
    logDestination: logDestination as any,
    print: () => {},
    skipMigrate: true,
  });
  return {
    qm,
    sim,
    slack,
    logs,
    url: qm.url,
    async close() {
      await qm.close();
      await sim.close();
      await slack.stop();
      await db.drop();
    },
  };
}
