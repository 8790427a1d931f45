/**
 * The large organization (simulator --seed large: 2,000 members, 100 workspaces, 10,000 keys), in its own process:
 *  - a full directory sync by `quartermaster jobs run directory.sync` against the bot's database while the bot
 *    runs: the simulator's requests from that process (told apart by its Host header, `localhost` instead of
 *    127.0.0.1) against the pagination floor (every list endpoint at limit=1000, one members list per active
 *    workspace), and the `httpMs` / `dbMs` of its "directory synced" log line; the same for the bot's own
 *    start-up sync into the empty database;
 *  - `/qm keys list` and `/qm members list` as an org admin, signed slash commands: POST to the reply on the
 *    response_url, and the Admin API requests the simulator saw meanwhile;
 *  - the longest event-loop stall in the bot meanwhile (`nodejs_eventloop_lag_max_seconds`, which prom-client
 *    15.1.3 resets on every scrape), with a trickle of other users' `/qm whoami` (10/s) whose acks are timed.
 */

import type { RecordedRequest } from '../src/anthropic/simulator/index.js';
import { SIMULATOR_ADMIN_KEY } from '../src/anthropic/simulator/index.js';
import { endpointTemplate } from '../src/http/metrics.js';
import { type BenchContext, type BenchRow, BIN, budgetRow, cleanEnv, fmt, ratioRow, waitQuiet } from './lib.js';
import { type DirectorySyncLine, fakeSlack, type LargeSimulator, largeSimulator, mainBot, syncLine } from './world.js';

const PAGE = 1000;

export async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const [fake, bot] = await Promise.all([fakeSlack(ctx), mainBot(ctx)]);
  const sim = await largeSimulator(ctx);
  const floor = await paginationFloor(sim);
  ctx.note(`large: pagination floor ${floor.total} requests at limit=${PAGE} (${floor.detail}).`);
  const rows: BenchRow[] = [];

  // Whatever the load left queued in the bot must not be measured here.
  const quietMs = await waitQuiet(bot.proc.pid, 60_000);
  ctx.note(
    `large: the bot was ${quietMs >= 60_000 ? 'still busy after 60 s' : `quiet (< 10% CPU) after ${fmt(quietMs)} ms`} when this phase began.`,
  );

  // a. The bot's own start-up sync (into an empty database).
  rows.push(
    ratioRow(
      'large: start-up sync requests (bot, empty database)',
      bot.startRequests.length,
      'pagination floor',
      floor.total,
      'requests',
      1.1,
    ),
  );
  ctx.note(`large: start-up sync requests by endpoint: ${byEndpoint(bot.startRequests)}.`);

  // b. One full sync from the CLI, while the bot runs.
  ctx.log('large: quartermaster jobs run directory.sync against the bot database');
  const before = (await sim.requests()).length;
  const cliHost = `localhost:${sim.port}`;
  const started = performance.now();
  const cli = ctx.spawn('jobs-run-directory-sync', process.execPath, [BIN, 'jobs', 'run', 'directory.sync'], {
    env: cleanEnv({
      DATABASE_URL: bot.databaseUrl,
      ANTHROPIC_BASE_URL: `http://${cliHost}`,
      ANTHROPIC_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
      LOG_LEVEL: 'info',
    }),
    cwd: ctx.tmp,
  });
  await cli.exited;
  const cliMs = performance.now() - started;
  if (cli.exitCode !== 0) {
    const why = cli.recent.find((l) => /^[A-Z].*(error|timed out|failed)/i.test(l)) ?? cli.recent.at(-1) ?? '';
    ctx.note(`large: jobs run directory.sync exited ${cli.exitCode}: ${why.slice(0, 200)}`);
  }
  const cliRequests = (await sim.requests()).slice(before).filter((r) => r.headers.host === cliHost);
  const cliSync = cli.findLine(syncLine) ?? null;
  ctx.note(
    `large: jobs run directory.sync took ${fmt(cliMs)} ms as a process; requests by endpoint: ${byEndpoint(cliRequests)}; log: ${describeSync(cliSync)}.`,
  );
  ctx.note(`large: the bot's start-up sync log: ${describeSync(bot.startSync)}.`);
  rows.push(
    ratioRow(
      'large: full sync requests (jobs run directory.sync)',
      cliRequests.length,
      'pagination floor',
      floor.total,
      'requests',
      1.1,
    ),
  );
  rows.push(dbVersusHttp('large: full sync DB time vs HTTP time (jobs run)', cliSync));
  rows.push(dbVersusHttp('large: start-up sync DB time vs HTTP time (empty database)', bot.startSync));

  // c + d. List commands as an admin, with other users' commands trickling in, and the stall meanwhile.
  await bot.scrapeLagMaxMs(); // resets the histogram
  const others = bot.slackUsers.filter((u) => u.slackId !== bot.admin.slackId).map((u) => u.slackId);
  const trickle = fake.load({
    url: bot.url,
    text: 'whoami',
    users: others.slice(-100),
    n: 100,
    perSecond: 10,
    replyTimeoutMs: 30_000,
    expect: 'You are',
  });
  for (const [name, text] of [
    ['keys list', 'keys list'],
    ['members list', 'members list'],
  ] as const) {
    ctx.log(`large: /qm ${text} as an org admin`);
    const from = (await sim.requests()).length;
    const r = await fake.command(bot.url, text, bot.admin.slackId, 60_000);
    const requests = (await sim.requests()).slice(from);
    const ms = r.replyMs ?? Number.NaN;
    ctx.note(
      `large: /qm ${text}: ack ${r.status} in ${fmt(r.ackMs)} ms, reply ${r.replyMs === null ? 'never came (60 s)' : `after ${fmt(ms)} ms`}: "${(r.reply ?? '').replace(/\s+/g, ' ').slice(0, 140)}"; Admin API requests meanwhile: ${requests.length ? byEndpoint(requests) : 'none'}.`,
    );
    rows.push(budgetRow(`large: /qm ${name} answer (admin)`, ms, 1000, 'ms'));
    if (name === 'keys list') {
      const keyPages = Math.max(1, Math.ceil(floor.keys / PAGE));
      rows.push({
        subject: 'large: Admin API requests during /qm keys list',
        value: requests.length,
        floorName: 'one full key refetch',
        floor: keyPages,
        unit: 'requests',
        ratio: requests.length / keyPages,
        goal: `< ${keyPages}`,
        ok: requests.length < keyPages,
      });
    } else {
      rows.push({
        subject: 'large: Admin API requests during /qm members list',
        value: requests.length,
        floorName: '',
        floor: Number.NaN,
        unit: 'requests',
        ratio: Number.NaN,
        goal: '(info)',
        ok: true,
      });
    }
  }
  const t = await trickle;
  const lag = await bot.scrapeLagMaxMs();
  const trickleMax = Math.max(...t.ackMs.map((x) => (Number.isFinite(x) ? x : Number.POSITIVE_INFINITY)));
  ctx.note(
    `large: other users' whoami during the list commands: ${t.answered}/${t.n} answered, ${t.late} acks late or failed.`,
  );
  rows.push(budgetRow('large: event-loop stall max (list commands + trickle)', lag, 50, 'ms'));
  rows.push(budgetRow("large: other users' ack max meanwhile (10/s)", trickleMax, 3000, 'ms', "Slack's limit"));
  return rows;
}

/** Requests at limit=1000: at least one per list, one members list per active (non-Default) workspace. */
async function paginationFloor(sim: LargeSimulator): Promise<{ total: number; keys: number; detail: string }> {
  const s = await sim.state();
  const pages = (n: number) => Math.max(1, Math.ceil(n / PAGE));
  const listed = s.workspaces.filter((w) => !w.is_default);
  const active = listed.filter((w) => w.archived_at === null);
  const inherits = new Set(s.users.filter((u) => u.role === 'admin' || u.role === 'billing').map((u) => u.id));
  let memberPages = 0;
  for (const w of active) {
    const explicit = new Set(s.members.filter((m) => m.workspace_id === w.id).map((m) => m.user_id));
    let n = explicit.size;
    for (const id of inherits) if (!explicit.has(id)) n++;
    memberPages += pages(n);
  }
  const parts = {
    users: pages(s.users.length),
    invites: pages(s.invites.length),
    workspaces: pages(listed.length),
    api_keys: pages(s.apiKeys.length),
    members: memberPages,
  };
  return {
    total: Object.values(parts).reduce((a, b) => a + b, 0),
    keys: s.apiKeys.length,
    detail: Object.entries(parts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  };
}

function byEndpoint(requests: RecordedRequest[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const limit = typeof r.query.limit === 'string' ? ` limit=${r.query.limit}` : '';
    const key = `${r.method} ${endpointTemplate(r.path).replace('/v1/organizations', '')}${limit}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return `${requests.length} (${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ')})`;
}

function describeSync(line: DirectorySyncLine | null): string {
  if (!line) return 'no "directory synced" line';
  const { ms, httpMs, dbMs } = line;
  return `ms=${ms ?? 'n/a'} httpMs=${httpMs ?? 'n/a'} dbMs=${dbMs ?? 'n/a'}`;
}

/** Goal: the sync's database work within 2× its HTTP time (fields the sync log line carries, if it does). */
function dbVersusHttp(subject: string, line: DirectorySyncLine | null): BenchRow {
  const http = typeof line?.httpMs === 'number' ? line.httpMs : Number.NaN;
  const db = typeof line?.dbMs === 'number' ? line.dbMs : Number.NaN;
  return ratioRow(subject, db, 'its HTTP time', http, 'ms', 2);
}
