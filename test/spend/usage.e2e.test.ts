/**
 * `/qm usage` and the digest over ingested rows written through the store (store.spend.replace*), with every
 * expected number computed here, independently, in bigint: who sees what (a developer only their workspaces and
 * their own keys, billing and admin everything, no organization total for a developer), the periods and the
 * groupings, and that the digest's JSON matches. Real Bolt against the fake Slack and the simulator; SQLite and
 * PostgreSQL.
 *
 * The organization (simulator demo): alice admin, bob developer (workspace_developer in prod and staging),
 * carol billing, dave user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CostDayRow, UsageHourRow } from '../../src/core/ports/spend.js';
import { buildDigest, digestJson, digestReply, digestText } from '../../src/core/spend/digest.js';
import { formatUsd, usdString } from '../../src/core/spend/money.js';
import { renderSlack } from '../../src/slack/render.js';
import { visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

const DAY = 86_400_000;
let t: TestApp;
const say = async (text: string, user: string) =>
  visibleText((await t.slack.command(t.url, text, user)).reply).replace(/\*/g, '');
const today = new Date(Math.floor(Date.now() / DAY) * DAY);
const dayAt = (n: number) => new Date(today.getTime() - n * DAY);

/** USD per MTok → nano-dollars × 1000 per token, the test's own arithmetic (not prices.ts). */
const PRICE: Record<string, { in: bigint; read: bigint; w5: bigint; w1: bigint; out: bigint }> = {
  'claude-sonnet-4-5-20250929': { in: 3_000_000n, read: 300_000n, w5: 3_750_000n, w1: 6_000_000n, out: 15_000_000n },
  'claude-opus-4-6': { in: 5_000_000n, read: 500_000n, w5: 6_250_000n, w1: 10_000_000n, out: 25_000_000n },
  'claude-haiku-4-5': { in: 1_000_000n, read: 100_000n, w5: 1_250_000n, w1: 2_000_000n, out: 5_000_000n },
};
const MODELS = Object.keys(PRICE);

interface Source {
  keyId: string;
  keyName: string;
  workspaceId: string;
  ownerId: string | null;
  model: string;
}
let sources: Source[] = [];
const usage: UsageHourRow[] = [];
const costs: CostDayRow[] = [];

function tokensFor(hour: number, i: number) {
  const base = BigInt(1000 + ((i * 7919 + hour * 104_729) % 50_000));
  return {
    uncachedInput: base,
    cacheRead: (base * 3n) / 5n,
    cacheWrite5m: base / 10n,
    cacheWrite1h: base / 50n,
    output: (base * 2n) / 7n,
    webSearch: 0n,
  };
}
const milli = (r: UsageHourRow) => {
  const p = PRICE[r.model]!;
  return (
    r.uncachedInput * p.in + r.cacheRead * p.read + r.cacheWrite5m * p.w5 + r.cacheWrite1h * p.w1 + r.output * p.out
  );
};
/** Rounded half up, as the estimate rounds (positive amounts). */
const div = (a: bigint, b: bigint) => (a * 2n + b) / (2n * b);

beforeAll(async () => {
  t = await startTestApp();
  await t.qm.services.directory.sync();
  const defaultId = t.sim.state.defaultWorkspace?.id;
  sources = t.sim.state.apiKeys.map((k, i) => ({
    keyId: k.id,
    keyName: k.name,
    workspaceId: !k.scope_workspace_id || k.scope_workspace_id === defaultId ? '' : k.scope_workspace_id,
    ownerId: k.created_by?.type === 'user' ? k.created_by.id : null,
    model: MODELS[i % MODELS.length]!,
  }));
  // 35 days of hourly usage for every key, and a cost report that is tokens × prices per workspace and model.
  for (let d = 35; d >= 0; d--) {
    const start = dayAt(d);
    const perWsModel = new Map<string, bigint>();
    for (let h = 0; h < 24; h += 3) {
      sources.forEach((s, i) => {
        if ((i + d) % 5 === 0) return;
        const row: UsageHourRow = {
          bucketStart: new Date(start.getTime() + h * 3_600_000),
          workspaceId: s.workspaceId,
          apiKeyId: s.keyId,
          model: s.model,
          serviceTier: 'standard',
          ...tokensFor(d * 24 + h, i),
        };
        usage.push(row);
        const k = `${s.workspaceId}|${s.model}`;
        perWsModel.set(k, (perWsModel.get(k) ?? 0n) + milli(row));
      });
    }
    for (const [k, m] of perWsModel) {
      const [workspaceId, model] = k.split('|') as [string, string];
      costs.push({
        day: start,
        workspaceId,
        description: `${model} usage`,
        costType: 'tokens',
        model,
        tokenType: '',
        serviceTier: 'standard',
        nanos: div(m, 1000n),
      });
    }
  }
  await t.qm.store.spend.replaceUsage(dayAt(36), dayAt(-1), usage);
  await t.qm.store.spend.replaceCosts(dayAt(36), dayAt(-1), costs);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const wsName = (id: string) => (id === '' ? 'Default' : t.sim.state.workspaces.find((w) => w.id === id)!.name);
const costBetween = (from: Date, to: Date, ws?: (id: string) => boolean) =>
  costs.filter((c) => c.day >= from && c.day < to && (!ws || ws(c.workspaceId))).reduce((s, c) => s + c.nanos, 0n);

describe('the digest', () => {
  it('every number of the JSON digest matches the rows to the cent', async () => {
    const D = dayAt(1);
    const next = dayAt(0);
    const json = digestJson(await buildDigest(t.qm.services, { day: D })) as any;
    const dayCost = costBetween(D, next);
    const prev7 = costBetween(dayAt(8), D);
    expect(json.day).toBe(D.toISOString().slice(0, 10));
    expect(json.cost.day).toBe(usdString(dayCost));
    expect(json.cost.average7Days).toBe(usdString(div(prev7, 7n)));
    const monthStart = new Date(Date.UTC(D.getUTCFullYear(), D.getUTCMonth(), 1));
    const mtd = costBetween(monthStart, next);
    expect(json.month.toDate).toBe(usdString(mtd));
    const monthEnd = Date.UTC(D.getUTCFullYear(), D.getUTCMonth() + 1, 1);
    const daysLeft = BigInt(Math.round((monthEnd - next.getTime()) / DAY));
    const last7 = costBetween(dayAt(7), next);
    expect(json.month.forecast).toBe(usdString(mtd + div(last7 * daysLeft, 7n)));

    // Top workspaces (cost report).
    const ws = new Map<string, bigint>();
    for (const c of costs)
      if (c.day.getTime() === D.getTime()) ws.set(c.workspaceId, (ws.get(c.workspaceId) ?? 0n) + c.nanos);
    const topWs = [...ws].sort((a, b) => (a[1] > b[1] ? -1 : 1)).slice(0, 5);
    expect(json.topWorkspaces).toEqual(
      topWs.map(([id, n]) => ({ id: id || null, name: wsName(id), cost: usdString(n) })),
    );

    // Top keys and models (estimates), and the token totals.
    const perKey = new Map<string, bigint>();
    const perModel = new Map<string, bigint>();
    const keyModelMilli = new Map<string, bigint>();
    let tokens = 0n;
    let read = 0n;
    let input = 0n;
    for (const r of usage) {
      if (r.bucketStart < D || r.bucketStart >= next) continue;
      keyModelMilli.set(r.apiKeyId, (keyModelMilli.get(r.apiKeyId) ?? 0n) + milli(r));
      perModel.set(r.model, (perModel.get(r.model) ?? 0n) + milli(r));
      const inp = r.uncachedInput + r.cacheRead + r.cacheWrite5m + r.cacheWrite1h;
      tokens += inp + r.output;
      input += inp;
      read += r.cacheRead;
    }
    for (const [k, m] of keyModelMilli) perKey.set(k, div(m, 1000n));
    const topKeys = [...perKey]
      .sort((a, b) => (a[1] === b[1] ? (a[0] < b[0] ? -1 : 1) : a[1] > b[1] ? -1 : 1))
      .slice(0, 5);
    expect(json.topKeys.map((k: any) => [k.id, k.estimatedCost, k.estimate])).toEqual(
      topKeys.map(([id, n]) => [id, usdString(n), true]),
    );
    expect(json.topKeys[0].name).toBe(sources.find((s) => s.keyId === topKeys[0]![0])!.keyName);
    const topModels = [...perModel].sort((a, b) => (a[1] > b[1] ? -1 : 1));
    expect(json.topModels.map((m: any) => [m.model, m.estimatedCost, m.estimate])).toEqual(
      topModels.map(([m, n]) => [m, usdString(div(n, 1000n)), true]),
    );
    expect(json.tokens.day).toBe(tokens.toString());
    expect(json.tokens.cacheReadShare).toBeCloseTo(Number(read) / Number(input), 5);
    expect(json.budgets).toBeNull();
    expect(json.daily).toHaveLength(30);
  });
});

describe('the digest as a chat reply', () => {
  it('shows names from the API as text: markup, mentions and links are escaped', async () => {
    const D = dayAt(1);
    const before = digestJson(await buildDigest(t.qm.services, { day: D })) as any;
    const key = t.sim.state.apiKeys.find((k) => k.id === before.topKeys[0].id)!;
    const original = key.name;
    key.name = '*pwned* <!channel> [click](https://evil.example)';
    try {
      await t.qm.services.directory.sync();
      const d = await buildDigest(t.qm.services, { day: D });
      const r = digestReply(d);
      const text = r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');
      expect(text).toContain('\\*pwned\\* \\<!channel\\> \\[click\\](https://evil.example)');
      expect(text).not.toContain('<!channel>');
      expect(digestText(d)).toContain('*pwned* <!channel> [click](https://evil.example)');
      expect(r.visibility).toBe('in_channel');
    } finally {
      key.name = original;
      await t.qm.services.directory.sync();
    }
  });
});

describe('the digest and approval requests', () => {
  it('a posted digest counts pending requests and points at the command; only the CLI text lists their summaries', async () => {
    // UBOB is a developer: a key request needs approval and stays pending.
    const filed = await say('keys request research digest-secret-notebook "reason bob wrote" 30d', 'UBOB');
    expect(filed).toMatch(/request/i);
    const d = await buildDigest(t.qm.services, { day: dayAt(1) });
    expect(d.pending.count).toBeGreaterThanOrEqual(1);
    const posted = digestReply(d)
      .blocks.map((b) => ('text' in b ? b.text : ''))
      .join('\n');
    expect(posted).toContain(`${d.pending.count} pending`);
    expect(posted).toContain('/qm requests list pending');
    expect(posted).not.toContain('digest-secret-notebook');
    expect(posted).not.toContain('reason bob wrote');
    expect(digestText(d)).toContain('digest-secret-notebook');
  });
});

describe('the digest with hostile names', () => {
  it('the plain text (CLI) carries no terminal control characters and no forged lines', async () => {
    const d = await buildDigest(t.qm.services, { day: dayAt(1) });
    d.organization = 'Acme\u001b]0;owned\u0007';
    d.topKeys[0]!.name = 'evil\u001b[2J\u001b]52;c;cHduZWQ=\u0007\nCost: $0.00 (forged)\u009b31m';
    const text = digestText(d);
    // Tabs and line ends are the layout's own; nothing else below U+0020 or in C1 may reach a terminal.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may remain.
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text.split('\n').some((l) => l.startsWith('Cost: $0.00 (forged)'))).toBe(false);
    expect(text).toContain('evil');
  });

  it("the organization's name in the chat title is escaped like every other name", async () => {
    const d = await buildDigest(t.qm.services, { day: dayAt(1) });
    d.organization = '*Acme* [click](https://evil.example)';
    const slack = JSON.stringify(renderSlack(digestReply(d)).blocks);
    expect(slack).not.toContain('<https://evil.example|');
    expect(digestText(d)).toContain('*Acme* [click](https://evil.example)');
  });
});

describe('/qm usage', () => {
  it('an admin sees every workspace from the cost report and the organization total', async () => {
    const text = await say('usage yesterday', 'UALICE');
    const from = dayAt(1);
    const to = dayAt(0);
    expect(text).toContain('Usage by workspace, yesterday');
    expect(text).toContain(`Organization total (cost report): ${formatUsd(costBetween(from, to))}`);
    for (const w of new Set(sources.map((s) => s.workspaceId))) {
      expect(text).toContain(`${wsName(w)}: ${formatUsd(costBetween(from, to, (id) => id === w))}`);
    }
  });

  it('billing sees every key', async () => {
    const text = await say('usage 7d key', 'UCAROL');
    expect(text).toContain('Organization total (cost report)');
    expect(text).toContain('(estimate)');
    expect(text).toMatch(/and \d+ more/);
  });

  it('a developer sees only their workspaces and their own keys, and no organization total', async () => {
    const bob = t.sim.state.userByEmail('bob@example.com')!;
    const mine = new Set(
      t.sim.state.members
        .filter((m) => m.user_id === bob.id && /developer|admin/.test(m.workspace_role))
        .map((m) => m.workspace_id),
    );
    const text = await say('usage yesterday workspace', 'UBOB');
    expect(text).not.toContain('Organization total');
    expect(text).toContain('Total of what you can see');
    const from = dayAt(1);
    const to = dayAt(0);
    for (const w of mine) expect(text).toContain(`${wsName(w)}: ${formatUsd(costBetween(from, to, (id) => id === w))}`);
    // Other workspaces appear only as the usage of bob's own keys there (an estimate), never with their total.
    for (const w of new Set(sources.map((s) => s.workspaceId))) {
      if (mine.has(w)) continue;
      expect(text).not.toContain(`${wsName(w)}: $`);
      expect(text).not.toContain(`${wsName(w)}: ${formatUsd(costBetween(from, to, (id) => id === w))}`);
    }
    expect(text).toContain('(only your keys): ~$');
    const exact = costBetween(from, to, (id) => mine.has(id));
    expect(text).toContain(`Total of what you can see: ${formatUsd(exact)}`);

    const keys = await say('usage yesterday key', 'UBOB');
    for (const s of sources) {
      const visible = mine.has(s.workspaceId) || s.ownerId === bob.id;
      if (!visible) expect(keys).not.toContain(s.keyName);
    }
    expect(keys).not.toContain('Organization total');
  });

  it('two keys with the same name in one workspace are two rows, not one', async () => {
    const D = dayAt(1);
    const next = dayAt(0);
    const used = new Set(usage.filter((r) => r.bucketStart >= D && r.bucketStart < next).map((r) => r.apiKeyId));
    const byWs = new Map<string, string[]>();
    for (const s of sources)
      if (used.has(s.keyId)) byWs.set(s.workspaceId, [...(byWs.get(s.workspaceId) ?? []), s.keyId]);
    const [a, b] = [...byWs.values()].find((ids) => ids.length >= 2)!;
    const keyB = t.sim.state.apiKeys.find((k) => k.id === b)!;
    const original = keyB.name;
    keyB.name = t.sim.state.apiKeys.find((k) => k.id === a)!.name;
    try {
      await t.qm.services.directory.sync();
      const lines = (await say('usage yesterday key', 'UALICE')).split('\n');
      const rows = lines.filter((l) => / · [\d,]+ tokens$/.test(l) && !/^(and \d+ more|Organization total)/.test(l));
      const more = Number(/and (\d+) more/.exec(lines.join('\n'))?.[1] ?? 0);
      expect(rows.length + more).toBe(used.size);
    } finally {
      keyB.name = original;
      await t.qm.services.directory.sync();
    }
  });

  it('an unknown period or grouping names the allowed values', async () => {
    expect(await say('usage lastweek', 'UALICE')).toContain('must be one of `today`, `yesterday`, `7d`, `30d`, `mtd`');
    expect(await say('usage 7d team', 'UALICE')).toContain('must be one of `workspace`, `key`, `model`, `member`');
  });

  it('a user (no keys:read) is refused', async () => {
    expect(await say('usage', 'UDAVE')).toMatch(/developer/);
  });
});
