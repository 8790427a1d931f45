/**
 * The simulator's usage ground truth: reports at every bucket width and the cost report are consistent with the
 * hourly rows (state.usageRows), revisions show up in both reports, and report faults can target the Nth request.
 * Exercised over HTTP with plain fetch; expected values are computed here from the rows with bigint arithmetic.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  claudeCodeRecords,
  SIM_PRICES,
  SIMULATOR_ADMIN_KEY,
  type Simulator,
  SimulatorState,
  seedDemo,
  seedLarge,
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

describe('bucket widths', () => {
  it('the 60 minutes of an hour sum to it exactly, and the current hour fills in as time passes', async () => {
    const hour = Date.parse('2026-11-22T17:00:00Z');
    const minutes = (await usage(`starting_at=${iso(hour)}&limit=60&bucket_width=1m&group_by[]=api_key_id`)).json;
    expect(minutes.data).toHaveLength(60);
    const hourly = (await usage(`starting_at=${iso(hour)}&limit=1&bucket_width=1h&group_by[]=api_key_id`)).json;
    const perKey = (rows: any[]) => {
      const m = new Map<string | null, number>();
      for (const r of rows) m.set(r.api_key_id, (m.get(r.api_key_id) ?? 0) + r.uncached_input_tokens + r.output_tokens);
      return m;
    };
    expect(perKey(minutes.data.flatMap((b: any) => b.results))).toEqual(perKey(hourly.data[0].results));
    expect(sumApiRow(minutes.data.flatMap((b: any) => b.results))).toEqual(sumApiRow(hourly.data[0].results));
    // Not all in one minute: the split is spread over the hour.
    expect(minutes.data.filter((b: any) => b.results.length > 0).length).toBeGreaterThan(50);

    // The current hour (14:00-15:00, now 14:30) has only its first 30 minutes, and grows when the clock moves on.
    const current = Date.parse('2026-11-23T14:00:00Z');
    const q = `starting_at=${iso(current)}&limit=60&bucket_width=1m`;
    const early = (await usage(q)).json.data;
    expect(early.slice(30).every((b: any) => b.results.length === 0)).toBe(true);
    const earlyHour = (await usage(`starting_at=${iso(current)}&limit=1&bucket_width=1h`)).json.data[0].results[0];
    expect(sumApiRow(early.flatMap((b: any) => b.results))).toEqual(sumApiRow([earlyHour]));
    nowMs = current + HOUR;
    const lateHour = (await usage(`starting_at=${iso(current)}&limit=1&bucket_width=1h`)).json.data[0].results[0];
    expect(lateHour.uncached_input_tokens).toBeGreaterThan(earlyHour.uncached_input_tokens);
    const late = (await usage(q)).json.data;
    expect(sumApiRow(late.flatMap((b: any) => b.results))).toEqual(sumApiRow([lateHour]));
  });

  it('pages of 168 hours follow each other with no gap or overlap, and add up to the rows', async () => {
    const from = Date.parse('2026-10-23T00:00:00Z');
    const to = Date.parse('2026-11-23T00:00:00Z');
    const buckets: any[] = [];
    let page: string | null = null;
    let pages = 0;
    do {
      const q: string = `starting_at=${iso(from)}&ending_at=${iso(to)}&bucket_width=1h&limit=168&group_by[]=api_key_id&group_by[]=workspace_id&group_by[]=model&group_by[]=service_tier${page ? `&page=${page}` : ''}`;
      const r = (await usage(q)).json;
      expect(r.data.length).toBeLessThanOrEqual(168);
      buckets.push(...r.data);
      pages++;
      page = r.has_more ? r.next_page : null;
      if (!r.has_more) expect(r.next_page).toBeNull();
    } while (page);
    expect(pages).toBe(5); // 744 hours
    expect(buckets).toHaveLength(744);
    expect(buckets[0].starting_at).toBe(iso(from));
    expect(buckets.at(-1).ending_at).toBe(iso(to));
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].starting_at).toBe(buckets[i - 1].ending_at);
    const rows = sim.state.usageRows(from, to);
    expect(buckets.reduce((n, b) => n + b.results.length, 0)).toBe(rows.length);
    expect(sumApiRow(buckets.flatMap((b) => b.results))).toEqual(sumRows(rows));
    // Console usage is there, with a null key.
    expect(buckets.some((b) => b.results.some((r: any) => r.api_key_id === null))).toBe(true);
  });

  it('limit above the maximum of its bucket width is a 400 in the API error shape', async () => {
    const cases = [
      ['usage_report/messages', '1m', 1441],
      ['usage_report/messages', '1h', 169],
      ['usage_report/messages', '1d', 32],
      ['cost_report', '1d', 32],
    ] as const;
    for (const [path, width, limit] of cases) {
      const r = await get(
        `/v1/organizations/${path}?starting_at=2026-11-01T00:00:00Z&bucket_width=${width}&limit=${limit}`,
      );
      expect(r.status).toBe(400);
      expect(r.json).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('limit') },
        request_id: expect.stringMatching(/^req_/),
      });
      const ok = await get(
        `/v1/organizations/${path}?starting_at=2026-11-01T00:00:00Z&bucket_width=${width}&limit=${limit - 1}`,
      );
      expect(ok.status).toBe(200);
    }
  });

  it('dimensions are null unless grouped; the Default workspace is null', async () => {
    const q = 'starting_at=2026-11-20T00:00:00Z&limit=1&bucket_width=1d&group_by[]=workspace_id';
    const results = (await usage(q)).json.data[0].results;
    expect(results.map((r: any) => r.workspace_id)).toContain(null);
    expect(results.map((r: any) => r.workspace_id)).toContain(simId('wrkspc', 'prod'));
    expect(results.map((r: any) => r.workspace_id)).not.toContain(simId('wrkspc', 'Default'));
    for (const r of results) expect(r).toMatchObject({ api_key_id: null, model: null, service_tier: null });
  });
});

describe('cost report', () => {
  it('grouped by description: each token type of each model and tier priced exactly, batch at half price', async () => {
    const day = Date.parse('2026-11-19T00:00:00Z');
    const r = (await cost(`starting_at=${iso(day)}&limit=1&group_by[]=workspace_id&group_by[]=description`)).json;
    const rows = sim.state.usageRows(day, day + DAY);
    const column = {
      uncached_input_tokens: 'uncachedInput',
      output_tokens: 'output',
      cache_read_input_tokens: 'cacheRead',
      'cache_creation.ephemeral_5m_input_tokens': 'cacheWrite5m',
      'cache_creation.ephemeral_1h_input_tokens': 'cacheWrite1h',
    } as const;
    const LABELS: Record<string, string> = {
      uncached_input_tokens: 'Input Tokens',
      output_tokens: 'Output Tokens',
      cache_read_input_tokens: 'Cache Read Input Tokens',
      'cache_creation.ephemeral_5m_input_tokens': 'Cache Write (5m) Input Tokens',
      'cache_creation.ephemeral_1h_input_tokens': 'Cache Write (1h) Input Tokens',
    };
    let batch = 0;
    let total = 0n;
    for (const res of r.data[0].results) {
      const amount = units(res.amount);
      total += amount;
      if (res.cost_type === 'web_search') {
        const n = rows.filter((x) => x.workspaceId === res.workspace_id).reduce((a, x) => a + x.webSearchRequests, 0);
        expect(amount).toBe(BigInt(n) * 10_000_000n);
        continue;
      }
      expect(res).toMatchObject({ currency: 'USD', cost_type: 'tokens', context_window: '0-200k' });
      expect(res.description).toBe(`${SIM_PRICES[res.model]!.display} Usage - ${LABELS[res.token_type]}`);
      const field = column[res.token_type as keyof typeof column];
      const tokens = rows
        .filter(
          (x) => x.workspaceId === res.workspace_id && x.model === res.model && x.serviceTier === res.service_tier,
        )
        .reduce((a, x) => a + BigInt(x[field]), 0n);
      const price = BigInt((SIM_PRICES[res.model] as any)[PRICE_COLUMN[field]]);
      const full = tokens * price * 10n;
      expect(amount).toBe(res.service_tier === 'batch' ? full / 2n : full);
      if (res.service_tier === 'batch') batch++;
    }
    expect(batch).toBeGreaterThan(0);
    expect(total).toBe(expectedUnits(rows));
  });

  it('the current day is partial and grows on a later fetch', async () => {
    const today = Date.parse('2026-11-23T00:00:00Z');
    const q = `starting_at=${iso(today)}&limit=1`;
    const before = units((await cost(q)).json.data[0].results[0].amount);
    expect(before).toBe(expectedUnits(sim.state.usageRows(today, today + DAY)));
    nowMs = NOW_MS + 3 * HOUR;
    const after = units((await cost(q)).json.data[0].results[0].amount);
    expect(after).toBeGreaterThan(before);
    expect(after).toBe(expectedUnits(sim.state.usageRows(today, today + DAY)));
  });
});

describe('usage_report/claude_code', () => {
  const cc = (q: string) => get(`/v1/organizations/usage_report/claude_code?${q}`);

  it('serves one record per user per day in the documented shape', async () => {
    const r = (await cc('starting_at=2026-11-20&limit=1000')).json;
    expect(r.has_more).toBe(false);
    expect(r.next_page).toBeNull();
    expect(r.data.length).toBeGreaterThan(3);
    const emails = r.data.filter((x: any) => x.actor.type === 'user_actor').map((x: any) => x.actor.email_address);
    expect(new Set(emails).size).toBe(emails.length);
    const members = new Set(sim.state.users.map((u) => u.email));
    for (const e of emails) expect(members.has(e)).toBe(true);
    const counts = { accepted: expect.any(Number), rejected: expect.any(Number) };
    for (const rec of r.data) {
      expect(rec).toEqual({
        date: '2026-11-20T00:00:00Z',
        actor: expect.objectContaining({ type: expect.stringMatching(/^(user_actor|api_actor)$/) }),
        organization_id: expect.any(String),
        customer_type: 'api',
        subscription_type: null,
        terminal_type: expect.any(String),
        core_metrics: {
          num_sessions: expect.any(Number),
          lines_of_code: { added: expect.any(Number), removed: expect.any(Number) },
          commits_by_claude_code: expect.any(Number),
          pull_requests_by_claude_code: expect.any(Number),
        },
        tool_actions: { edit_tool: counts, multi_edit_tool: counts, write_tool: counts, notebook_edit_tool: counts },
        model_breakdown: expect.any(Array),
      });
      expect(rec.core_metrics.num_sessions).toBeGreaterThan(0);
      for (const m of rec.model_breakdown) {
        expect(m.estimated_cost.currency).toBe('USD');
        expect(typeof m.estimated_cost.amount).toBe('number');
        // Estimated cost (cents) = tokens × list prices, cache creation at the 5-minute write price.
        const p = SIM_PRICES[m.model]!;
        const cents =
          (m.tokens.input * p.in +
            m.tokens.output * p.out +
            m.tokens.cache_read * p.read +
            m.tokens.cache_creation * p.w5m) /
          1e6;
        expect(m.estimated_cost.amount).toBeCloseTo(cents, 4);
      }
    }
    expect(r.data.some((x: any) => x.actor.type === 'api_actor' && x.actor.api_key_name === 'default-cli')).toBe(true);
    // Weekends are quieter, today is partial, tomorrow is empty.
    expect((await cc('starting_at=2026-11-22&limit=1000')).json.data.length).toBeLessThan(r.data.length);
    expect((await cc('starting_at=2026-11-24')).json).toEqual({ data: [], has_more: false, next_page: null });
  });

  it('pages with limit and page tokens', async () => {
    const all = (await cc('starting_at=2026-11-19&limit=1000')).json.data;
    const paged: any[] = [];
    let page: string | null = null;
    do {
      const r: any = (await cc(`starting_at=2026-11-19&limit=2${page ? `&page=${page}` : ''}`)).json;
      expect(r.data.length).toBeLessThanOrEqual(2);
      paged.push(...r.data);
      page = r.has_more ? r.next_page : null;
    } while (page);
    expect(paged).toEqual(all);
    expect((await cc('starting_at=2026-11-19')).json.data).toEqual(all.slice(0, 20));
    expect(claudeCodeRecords(sim.state, Date.parse('2026-11-19T00:00:00Z'), NOW_MS)).toEqual(all);
  });

  it('validates starting_at (one UTC day), limit and page', async () => {
    for (const q of [
      '',
      'starting_at=2026-11-20T00:00:00Z',
      'starting_at=2026-02-30',
      'starting_at=20261120',
      'starting_at=2026-11-20&limit=0',
      'starting_at=2026-11-20&limit=1001',
      'starting_at=2026-11-20&limit=ten',
      'starting_at=2026-11-20&page=garbage',
    ]) {
      const r = await cc(q);
      expect(r.status, q).toBe(400);
      expect(r.json.error.type).toBe('invalid_request_error');
    }
    expect((await cc('starting_at=2026-11-20&limit=1000')).status).toBe(200);
  });
});

describe('seeds', () => {
  it('the demo organization has usage on each of the last 35 days, by the real clock', () => {
    const s = new SimulatorState(() => new Date());
    seedDemo(s);
    const today = Math.floor(Date.now() / DAY) * DAY;
    for (let d = 1; d <= 35; d++) {
      const rows = s.usageRows(today - d * DAY, today - (d - 1) * DAY);
      expect(rows.length, `day -${d}`).toBeGreaterThan(50);
      expect(new Set(rows.map((r) => r.apiKeyId)).size).toBeGreaterThan(8);
    }
  });

  it('the large seed has 31 days of hourly usage in 200k-400k rows', { timeout: 60_000 }, () => {
    const now = Date.parse('2026-11-23T00:00:00Z');
    const s = new SimulatorState(() => new Date(now));
    seedLarge(s);
    const rows = s.usageRows(now - 31 * DAY, now);
    expect(rows.length).toBeGreaterThan(200_000);
    expect(rows.length).toBeLessThan(400_000);
    const keys = new Set(rows.map((r) => r.apiKeyId));
    expect(keys.size).toBeGreaterThan(500);
    // Every hour has traffic, and more on a weekday afternoon than on a Sunday night.
    const perHour = new Map<number, number>();
    for (const r of rows) perHour.set(r.hourStart, (perHour.get(r.hourStart) ?? 0) + r.uncachedInput);
    expect(perHour.size).toBe(31 * 24);
    expect(perHour.get(Date.parse('2026-11-18T17:00:00Z'))!).toBeGreaterThan(
      perHour.get(Date.parse('2026-11-22T04:00:00Z'))! * 1.5,
    );
  });
});
