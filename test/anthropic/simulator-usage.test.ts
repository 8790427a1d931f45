/**
 * The simulator's usage ground truth: reports at every bucket width and the cost report are consistent with the
 * hourly rows (state.usageRows), revisions show up in both reports, and report faults can target the Nth request.
 * Exercised over HTTP with plain fetch; expected values are computed here from the rows with bigint arithmetic.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SIM_PRICES,
  SIMULATOR_ADMIN_KEY,
  type Simulator,
  simId,
  startSimulator,
  type UsageRow,
} from '../../src/anthropic/simulator/index.js';

/** Mid-afternoon on a Monday, so the current day and hour are incomplete. */
const NOW_MS = Date.parse('2026-11-23T14:30:00.000Z');
let nowMs = NOW_MS;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HEADERS = { 'x-api-key': SIMULATOR_ADMIN_KEY, 'anthropic-version': '2023-06-01' };

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ now: () => new Date(nowMs) });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  nowMs = NOW_MS;
  sim.reset();
});

async function get(path: string) {
  const res = await fetch(sim.url + path, { headers: HEADERS });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}
const usage = (q: string) => get(`/v1/organizations/usage_report/messages?${q}`);
const cost = (q: string) => get(`/v1/organizations/cost_report?${q}`);
const iso = (ms: number) => new Date(ms).toISOString();

const TOKEN_FIELDS = ['uncachedInput', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'output'] as const;
function sumApiRow(rows: any[]) {
  const t = { uncachedInput: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 0, webSearchRequests: 0 };
  for (const r of rows) {
    t.uncachedInput += r.uncached_input_tokens;
    t.cacheRead += r.cache_read_input_tokens;
    t.cacheWrite5m += r.cache_creation.ephemeral_5m_input_tokens;
    t.cacheWrite1h += r.cache_creation.ephemeral_1h_input_tokens;
    t.output += r.output_tokens;
    t.webSearchRequests += r.server_tool_use.web_search_requests;
  }
  return t;
}
function sumRows(rows: UsageRow[]) {
  const t = { uncachedInput: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 0, webSearchRequests: 0 };
  for (const r of rows) {
    for (const f of TOKEN_FIELDS) t[f] += r[f];
    t.webSearchRequests += r.webSearchRequests;
  }
  return t;
}

/** Independent exact cost in 1e-7 cent units: Σ tokens × cents-per-million × 10, halved for batch, + 1 cent/search. */
const PRICE_COLUMN = {
  uncachedInput: 'in',
  cacheRead: 'read',
  cacheWrite5m: 'w5m',
  cacheWrite1h: 'w1h',
  output: 'out',
};
function expectedUnits(rows: UsageRow[]): bigint {
  let total = 0n;
  for (const r of rows) {
    const p = SIM_PRICES[r.model]!;
    let units = 0n;
    for (const f of TOKEN_FIELDS) units += BigInt(r[f]) * BigInt((p as any)[PRICE_COLUMN[f]]) * 10n;
    total += (r.serviceTier === 'batch' ? units / 2n : units) + BigInt(r.webSearchRequests) * 10_000_000n;
  }
  return total;
}
/** A decimal cent string as 1e-7 cent units, exactly. */
function units(amount: string): bigint {
  expect(amount).toMatch(/^\d+(\.\d{1,7})?$/);
  const [whole, frac = ''] = amount.split('.');
  return BigInt(whole!) * 10_000_000n + BigInt(frac.padEnd(7, '0'));
}

describe('revision hook', () => {
  it('reviseUsage changes one hour in the usage report (1h and 1d) and in the cost report', async () => {
    const day = Date.parse('2026-11-20T00:00:00Z');
    const rows = sim.state.usageRows(day, day + DAY);
    const target = rows.find((r) => r.apiKeyId !== null && r.serviceTier === 'standard')!;
    expect(target).toBeDefined();
    const hourQ = `starting_at=${iso(target.hourStart)}&limit=1&bucket_width=1h&group_by[]=api_key_id&api_key_ids[]=${target.apiKeyId}`;
    const before = (await usage(hourQ)).json.data[0].results;
    const dayBefore = (await usage(`starting_at=${iso(day)}&limit=1&bucket_width=1d`)).json.data[0].results[0];
    const costBefore = units((await cost(`starting_at=${iso(day)}&limit=1`)).json.data[0].results[0].amount);

    sim.state.reviseUsage({
      apiKeyId: target.apiKeyId,
      hourStart: iso(target.hourStart),
      model: target.model,
      tokens: { uncachedInput: target.uncachedInput + 1_000_000 },
    });

    const after = (await usage(hourQ)).json.data[0].results;
    expect(sumApiRow(after).uncachedInput).toBe(sumApiRow(before).uncachedInput + 1_000_000);
    const dayAfter = (await usage(`starting_at=${iso(day)}&limit=1&bucket_width=1d`)).json.data[0].results[0];
    expect(dayAfter.uncached_input_tokens).toBe(dayBefore.uncached_input_tokens + 1_000_000);
    expect(dayAfter.output_tokens).toBe(dayBefore.output_tokens);
    const costAfter = units((await cost(`starting_at=${iso(day)}&limit=1`)).json.data[0].results[0].amount);
    // 1M input tokens at the model's price (cents per million) = that many cents = ×1e7 units.
    expect(costAfter - costBefore).toBe(BigInt(SIM_PRICES[target.model]!.in) * 10_000_000n);

    // A second revision of the same hour replaces the first; factor 0 removes the row.
    sim.state.reviseUsage({ apiKeyId: target.apiKeyId, hourStart: target.hourStart, model: target.model, factor: 0 });
    const gone = sim.state.usageRows(target.hourStart, target.hourStart + HOUR);
    expect(gone.some((r) => r.apiKeyId === target.apiKeyId && r.model === target.model)).toBe(false);
    const dayGone = (await usage(`starting_at=${iso(day)}&limit=1&bucket_width=1d`)).json.data[0].results[0];
    expect(dayGone.uncached_input_tokens).toBe(dayBefore.uncached_input_tokens - target.uncachedInput);

    // reset() forgets revisions.
    sim.reset();
    expect((await usage(hourQ)).json.data[0].results).toEqual(before);
  });

  it('tokens on an idle key create its row; over HTTP too', async () => {
    const idle = sim.state.apiKeys.find((k) => k.name === 'prod-legacy')!; // archived when seeded: never any traffic
    const hour = Date.parse('2026-11-22T10:00:00Z');
    expect(sim.state.usageRows(hour - 30 * DAY, hour + HOUR).some((r) => r.apiKeyId === idle.id)).toBe(false);
    const res = await fetch(`${sim.url}/_simulator/usage/revise`, {
      method: 'POST',
      body: JSON.stringify({ apiKeyId: idle.id, hourStart: '2026-11-22T10:17:00Z', tokens: { output: 4242 } }),
    });
    expect(res.status).toBe(200);
    const q = `starting_at=2026-11-22T10:00:00Z&limit=1&bucket_width=1h&group_by[]=api_key_id&group_by[]=workspace_id&api_key_ids[]=${idle.id}`;
    const row = (await usage(q)).json.data[0].results[0];
    expect(row).toMatchObject({
      api_key_id: idle.id,
      workspace_id: simId('wrkspc', 'prod'),
      output_tokens: 4242,
      uncached_input_tokens: 0,
    });
    const truth = (await (
      await fetch(`${sim.url}/_simulator/usage?from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z`)
    ).json()) as { data: UsageRow[] };
    expect(truth.data.find((r) => r.apiKeyId === idle.id)).toMatchObject({ output: 4242, hourStart: hour });
  });
});

describe('report faults', () => {
  it('fails the Nth matching request a given number of times (in-process), with retry-after on 429', async () => {
    const path = '/v1/organizations/usage_report/messages';
    sim.faults.inject({ path, query: { bucket_width: '1h' }, after: 1, times: 2, status: 429, retryAfter: 3 });
    const q = 'starting_at=2026-11-20T00:00:00Z&bucket_width=1h';
    expect((await usage(q)).status).toBe(200); // 1st: let through
    expect((await usage('starting_at=2026-11-20T00:00:00Z&bucket_width=1d')).status).toBe(200); // not matching
    const second = await usage(q);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('3');
    expect(second.json.error.type).toBe('rate_limit_error');
    expect((await usage(q)).status).toBe(429);
    expect((await usage(q)).status).toBe(200);
    expect(sim.faults.pending()).toEqual([]);
  });

  it('over HTTP: 529 on the 3rd cost_report request, once', async () => {
    const res = await fetch(`${sim.url}/_simulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/v1/organizations/cost_report', after: 2, status: 529 }),
    });
    expect(res.status).toBe(200);
    const q = 'starting_at=2026-11-20T00:00:00Z';
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await cost(q)).status);
    expect(statuses).toEqual([200, 200, 529, 200]);
  });
});

describe('consistency with the hourly ground truth', () => {
  it('a 1d bucket is the sum of its 24 hourly buckets and of the rows', async () => {
    const day = Date.parse('2026-11-21T00:00:00Z');
    const daily = (await usage(`starting_at=${iso(day)}&limit=1&bucket_width=1d`)).json.data[0].results;
    const hourly = (await usage(`starting_at=${iso(day)}&limit=24&bucket_width=1h`)).json.data;
    expect(hourly).toHaveLength(24);
    expect(sumApiRow(daily)).toEqual(sumApiRow(hourly.flatMap((b: any) => b.results)));
    expect(sumApiRow(daily)).toEqual(sumRows(sim.state.usageRows(day, day + DAY)));
  });

  it('the cost report equals Σ tokens × prices of the hourly rows, exactly', async () => {
    const from = Date.parse('2026-11-10T00:00:00Z');
    const r = (await cost(`starting_at=${iso(from)}&limit=14&group_by[]=workspace_id`)).json;
    for (const b of r.data) {
      const start = Date.parse(b.starting_at);
      const rows = sim.state.usageRows(start, start + DAY);
      const byWs = new Map<string | null, UsageRow[]>();
      for (const row of rows) byWs.set(row.workspaceId, [...(byWs.get(row.workspaceId) ?? []), row]);
      expect(b.results).toHaveLength(byWs.size);
      for (const res of b.results) expect(units(res.amount)).toBe(expectedUnits(byWs.get(res.workspace_id) ?? []));
    }
  });
});
