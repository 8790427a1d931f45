/**
 * What several measurements share, each created once per run (BenchContext.memo): the fake Slack process with
 * its load generator, a migrated SQLite database, the large simulated organization in its own process, the bot
 * under test (`node bin/quartermaster.mjs start`, configured only through its public environment variables), and
 * the bare Bolt floor.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RecordedRequest, SIMULATOR_ADMIN_KEY } from '../src/anthropic/simulator/index.js';
import { openStore } from '../src/store/index.js';
import { FakeSlack, SIGNING_SECRET } from '../test/fakes/slack.js';
import type { CommandResult, LoadRequest, LoadResult } from './fake-slack-proc.js';
import {
  type BenchContext,
  BIN,
  cleanEnv,
  descendants,
  freePort,
  httpGet,
  jsonLine,
  type Proc,
  ROOT,
  rssMb,
  waitForHttp,
} from './lib.js';

const NODE = process.execPath;

export class FakeSlackClient {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  base = '';
  apiUrl = '';
  botToken = '';

  constructor(readonly proc: Proc) {
    proc.child.on('message', (raw) => {
      const m = raw as { id: number; ok: boolean; result?: unknown; error?: string };
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`fake Slack: ${m.error}`));
    });
    void proc.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`fake Slack exited (${proc.exitCode})`));
      this.pending.clear();
    });
  }

  private call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.child.send({ id, op, ...args });
    });
  }

  async start(): Promise<void> {
    const r = await this.call<{ base: string; apiUrl: string; botToken: string }>('start');
    Object.assign(this, r);
  }

  addUsers(users: { id: string; name: string; email: string }[]): Promise<number> {
    return this.call('addUsers', { users });
  }

  load(o: LoadRequest): Promise<LoadResult> {
    return this.call('load', { ...o });
  }

  command(url: string, text: string, user: string, timeoutMs = 60_000): Promise<CommandResult> {
    return this.call('command', { url, text, user, timeoutMs });
  }
}

/** The fake Slack (Web API, response_url) and load generator, in a child process of its own. */
export function fakeSlack(ctx: BenchContext): Promise<FakeSlackClient> {
  return ctx.memo('fakeSlack', async () => {
    ctx.log('starting the fake Slack / load generator process');
    const proc = ctx.spawn('fake-slack', NODE, ['--import', 'tsx', path.join(ROOT, 'bench', 'fake-slack-proc.ts')], {
      env: cleanEnv(),
      ipc: true,
    });
    const client = new FakeSlackClient(proc);
    await client.start();
    return client;
  });
}

/** A SQLite database migrated once by `quartermaster migrate`; each user gets its own copy. */
export async function freshDatabase(ctx: BenchContext, name: string): Promise<string> {
  const template = await ctx.memo('templateDb', async () => {
    ctx.log('migrating a template SQLite database (quartermaster migrate)');
    const file = path.join(ctx.tmp, 'template.db');
    const proc = ctx.spawn('migrate', NODE, [BIN, 'migrate'], {
      env: cleanEnv({ DATABASE_URL: `file:${file}` }),
      cwd: ctx.tmp,
    });
    await proc.exited;
    if (proc.exitCode !== 0) throw new Error(`quartermaster migrate failed (${proc.exitCode}); see ${proc.logPath}`);
    return file;
  });
  const file = path.join(ctx.tmp, `${name}.db`);
  copyFileSync(template, file);
  if (existsSync(`${template}-wal`)) copyFileSync(`${template}-wal`, `${file}-wal`);
  return `file:${file}`;
}

export interface SimOrgUser {
  id: string;
  email: string;
  name: string;
  role: string;
}

export interface LargeSimulator {
  proc: Proc;
  url: string;
  port: number;
  requests(): Promise<RecordedRequest[]>;
  state(): Promise<{
    users: SimOrgUser[];
    invites: unknown[];
    workspaces: { id: string; archived_at: string | null; is_default: boolean }[];
    members: { workspace_id: string; user_id: string }[];
    apiKeys: unknown[];
  }>;
}

/** `quartermaster simulator --seed large` as its own process. */
export function largeSimulator(ctx: BenchContext): Promise<LargeSimulator> {
  return ctx.memo('largeSimulator', async () => {
    const port = await freePort();
    ctx.log(`starting the simulator with the large organization (--seed large, port ${port})`);
    const proc = ctx.spawn('simulator-large', NODE, [BIN, 'simulator', '--seed', 'large', '--port', String(port)], {
      env: cleanEnv(),
      cwd: ctx.tmp,
    });
    const url = await proc.waitForLine((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1], 60_000);
    const getJson = async (p: string) => {
      const r = await httpGet(`${url}${p}`, {}, 30_000);
      if (r?.status !== 200) throw new Error(`simulator ${p}: ${r?.status ?? 'no answer'}`);
      return JSON.parse(r.body);
    };
    return {
      proc,
      url,
      port,
      requests: async () => (await getJson('/_simulator/requests')).data,
      state: () => getJson('/_simulator/state'),
    };
  });
}

/** The environment `quartermaster start` gets: Slack over HTTP at the fake, everything else its defaults. */
export function botEnv(
  fake: FakeSlackClient,
  o: { databaseUrl: string; port: number; metricsToken?: string; anthropicBaseUrl?: string },
): Record<string, string | undefined> {
  return cleanEnv({
    DATABASE_URL: o.databaseUrl,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SLACK_BOT_TOKEN: fake.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    ...(o.metricsToken ? { METRICS_TOKEN: o.metricsToken } : {}),
    ...(o.anthropicBaseUrl ? { ANTHROPIC_BASE_URL: o.anthropicBaseUrl, ANTHROPIC_ADMIN_KEY: SIMULATOR_ADMIN_KEY } : {}),
  });
}

export interface StartedProcess {
  proc: Proc;
  url: string;
  /** From spawn to the first accepted HTTP answer, ms. */
  startMs: number;
  /** Command lines of the descendants seen while it started (e.g. `prisma migrate deploy`). */
  children: string[];
}

/**
 * Spawns `node <args>` and times it until GET <url>/healthz is accepted, watching its descendants meanwhile
 * (every 25 ms: a `prisma migrate deploy` child lives for about a second).
 */
export async function spawnAndTime(
  ctx: BenchContext,
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
  port: number,
  accept: (status: number) => boolean,
  timeoutMs = 120_000,
): Promise<StartedProcess> {
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const proc = ctx.spawn(name, NODE, args, { env, cwd: ctx.tmp });
  const children = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching && proc.exitCode === undefined) {
      for (const d of descendants(proc.pid)) children.add(d.cmdline);
      await sleep(25);
    }
  })();
  try {
    const answered = await waitForHttp(`${url}/healthz`, { accept, timeoutMs, proc });
    return { proc, url, startMs: answered - started, children: [...children] };
  } finally {
    watching = false;
    await watch;
  }
}

/** The bare Bolt floor (bench/floor-bolt.mjs): answers any HTTP request once it listens. */
export async function startFloor(ctx: BenchContext, name: string, fake: FakeSlackClient): Promise<StartedProcess> {
  const port = await freePort();
  return spawnAndTime(
    ctx,
    name,
    [path.join(ROOT, 'bench', 'floor-bolt.mjs')],
    cleanEnv({
      PORT: String(port),
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    }),
    port,
    (s) => s > 0,
    30_000,
  );
}

export interface DirectorySyncLine {
  ms?: number;
  httpMs?: number;
  dbMs?: number;
  [k: string]: unknown;
}

export interface MainBot extends StartedProcess {
  databaseUrl: string;
  metricsToken: string;
  /** The "directory synced" log line of its start-up sync (into an empty directory). */
  startSync: DirectorySyncLine | null;
  /** Admin API requests the simulator saw from spawn until /healthz answered (the start-up sync). */
  startRequests: RecordedRequest[];
  idleRssMb: number;
  /** Slack user id → org member, for every member of the large organization. */
  slackUsers: { slackId: string; user: SimOrgUser }[];
  admin: { slackId: string; user: SimOrgUser };
  /**
   * `nodejs_eventloop_lag_max_seconds` in ms since the previous scrape (prom-client resets it per scrape); NaN when
   * /metrics did not answer.
   */
  scrapeLagMaxMs(): Promise<number>;
}

/**
 * Every Slack user already linked by email, as in an organization that has used the bot before: the load then
 * measures commands, not 2,000 first-time profile look-ups. (Written through the product's own store, exactly the
 * rows a first command writes.)
 */
async function linkEveryone(
  ctx: BenchContext,
  databaseUrl: string,
  users: { slackId: string; user: SimOrgUser }[],
): Promise<void> {
  ctx.log(`linking ${users.length} Slack users to their org members (as their first command would)`);
  const store = await openStore(databaseUrl);
  try {
    const now = new Date();
    for (const s of users) {
      await store.links.upsert({
        platform: 'slack',
        teamId: FAKE_SLACK_TEAM,
        userId: s.slackId,
        orgUserId: s.user.id,
        email: s.user.email,
        method: 'slack_email',
        linkedAt: now,
        refreshedAt: now,
      });
    }
  } finally {
    await store.close();
  }
}

/** The workspace the fake Slack is (FakeSlack's default team). */
const FAKE_SLACK_TEAM = new FakeSlack().team.id;

/**
 * The bot under test, as `npm start` runs it: `node bin/quartermaster.mjs start` on a freshly migrated SQLite
 * file, Slack over HTTP (the fake), the Admin API at the large simulated organization (ANTHROPIC_BASE_URL on
 * loopback with the simulator's public key). Every member's Slack profile email is an org member's, and every
 * Slack user is linked before the bot starts (linkEveryone). Its idle RSS is read 5 s after /healthz first answered.
 */
export function mainBot(ctx: BenchContext): Promise<MainBot> {
  return ctx.memo('mainBot', async () => {
    const [fake, sim, databaseUrl] = await Promise.all([
      fakeSlack(ctx),
      largeSimulator(ctx),
      freshDatabase(ctx, 'main'),
    ]);
    const state = await sim.state();
    const slackUsers = state.users.map((user, i) => ({ slackId: `UL${String(i).padStart(5, '0')}`, user }));
    await fake.addUsers(slackUsers.map((s) => ({ id: s.slackId, name: s.user.name, email: s.user.email })));
    const admin = slackUsers.find((s) => s.user.role === 'admin');
    if (!admin) throw new Error('the large organization has no admin');
    await linkEveryone(ctx, databaseUrl, slackUsers);
    const port = await freePort();
    const metricsToken = randomBytes(18).toString('base64url');
    const before = (await sim.requests()).length;
    ctx.log('starting the bot against the large organization (start-up sync into an empty database)');
    const started = await spawnAndTime(
      ctx,
      'bot-main',
      // QM_BENCH_BOT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bot under test (node flags).
      [...(process.env.QM_BENCH_BOT_NODE_ARGS?.split(' ').filter(Boolean) ?? []), BIN, 'start'],
      botEnv(fake, { databaseUrl, port, metricsToken, anthropicBaseUrl: sim.url }),
      port,
      (s) => s === 200,
      180_000,
    );
    // The sync line is printed before the listener opens, so it is in the output by now.
    const startSync =
      started.proc.findLine(syncLine) ?? (await started.proc.waitForLine(syncLine, 2000).catch(() => null));
    const startRequests = (await sim.requests()).slice(before);
    ctx.log(`bot up after ${Math.round(started.startMs)} ms; idle 5 s before reading its RSS`);
    ctx.note(
      `The bot under load and on the large organization started (spawn → /healthz 200, start-up sync into an empty database included) in ${Math.round(started.startMs)} ms.`,
    );
    await sleep(5000);
    const idleRssMb = rssMb(started.proc.pid);
    const scrapeLagMaxMs = async () => {
      // A bot still working through a backlog answers late: wait for it rather than lose the measurement.
      const r = await httpGet(`${started.url}/metrics`, { authorization: `Bearer ${metricsToken}` }, 90_000);
      const v = r && /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(r.body)?.[1];
      if (!v) {
        ctx.note(
          `GET /metrics: ${r ? `${r.status} without nodejs_eventloop_lag_max_seconds` : 'no answer within 90 s'}.`,
        );
        return Number.NaN;
      }
      return Number(v) * 1000;
    };
    return {
      ...started,
      databaseUrl,
      metricsToken,
      startSync,
      startRequests,
      idleRssMb,
      slackUsers,
      admin,
      scrapeLagMaxMs,
    };
  });
}

/** The "directory synced" JSON log line, or undefined. */
export function syncLine(line: string): DirectorySyncLine | undefined {
  const j = jsonLine(line);
  return j && j.msg === 'directory synced' ? (j as DirectorySyncLine) : undefined;
}
