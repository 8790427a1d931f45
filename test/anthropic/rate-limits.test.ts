/**
 * Rate limits (admin-api.md §3.10): the reports client (src/anthropic/reports.ts) against the simulator over HTTP,
 * and the simulator's endpoints themselves. Every page is read (with and without `limit`), both entry shapes the
 * API has used are mapped (`group_type` and `group{type, display_name}`), unknown fields and values are tolerated,
 * a workspace's inherited values never pass for overrides, filters and 404s answer as the API documents, and
 * failures are classified and retried like every Admin API call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReportsApiClient } from '../../src/anthropic/reports.js';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { AdminApiError } from '../../src/core/ports/admin-api.js';

let sim: Simulator;
const ORG_PATH = '/v1/organizations/rate_limits';
const wsPath = (id: string) => `/v1/organizations/workspaces/${id}/rate_limits`;
const client = (extra = {}) =>
  createReportsApiClient({ adminKey: sim.adminKey, baseURL: sim.url, maxRetries: 2, ...extra });
const workspaceId = (name: string) => sim.state.workspaces.find((w) => w.name === name)!.id;
const calls = (path: string) => sim.requests.filter((r) => r.path === path);

/** A raw GET against the simulator, as the API's own clients would send it. */
async function raw(path: string, query: Record<string, string> = {}) {
  const res = await fetch(`${sim.url}${path}?${new URLSearchParams(query)}`, {
    headers: { 'x-api-key': sim.adminKey, 'anthropic-version': '2023-06-01' },
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function failure(p: Promise<unknown>): Promise<AdminApiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AdminApiError);
  return e as AdminApiError;
}

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

describe('organization rate limits', () => {
  it('reads every page: one request without a limit, five pages of two with pageSize 2, the same groups', async () => {
    const whole = await client().rateLimits();
    expect(calls(ORG_PATH)).toHaveLength(1);
    expect(calls(ORG_PATH)[0]!.query.limit).toBeUndefined();

    const paged = await client({ pageSize: 2 }).rateLimits();
    const pages = calls(ORG_PATH).slice(1);
    expect(pages).toHaveLength(5);
    expect(pages.map((r) => r.query.limit)).toEqual(['2', '2', '2', '2', '2']);
    expect(pages[0]!.query.page).toBeUndefined();
    expect(new Set(pages.slice(1).map((r) => r.query.page)).size).toBe(4);
    expect(paged).toEqual(whole);

    // Against the simulator's ground truth, in order.
    expect(whole.map((g) => g.displayName ?? g.groupType)).toEqual(
      sim.state.rateLimits.map((e) => e.displayName ?? e.groupType),
    );
    expect(whole).toHaveLength(9);
    expect(whole[0]).toEqual({
      groupType: 'model_group',
      displayName: 'Claude Opus 4.x',
      models: ['claude-opus-4-6', 'claude-opus-4-5', 'claude-opus-4-5-20251101'],
      limits: [
        { type: 'requests_per_minute', value: 4000, orgLimit: null },
        { type: 'input_tokens_per_minute_cache_aware', value: 2_000_000, orgLimit: null },
        { type: 'output_tokens_per_minute', value: 400_000, orgLimit: null },
      ],
    });
    const batch = whole.find((g) => g.groupType === 'batch')!;
    expect(batch).toEqual({
      groupType: 'batch',
      displayName: null,
      models: [],
      limits: [
        { type: 'requests_per_minute', value: 4000, orgLimit: null },
        { type: 'enqueued_batch_requests', value: 500_000, orgLimit: null },
      ],
    });
    expect(whole.map((g) => g.groupType)).toEqual(expect.arrayContaining(['web_search', 'files', 'token_count']));
  });

  it('a failed page is retried on its own and the listing completes', async () => {
    const first = await client({ pageSize: 3 }).rateLimits();
    const secondToken = calls(ORG_PATH)[1]!.query.page as string;
    sim.requests.length = 0;
    sim.faults.inject({ status: 500, path: ORG_PATH, query: { page: secondToken } });
    expect(await client({ pageSize: 3 }).rateLimits()).toEqual(first);
    expect(calls(ORG_PATH).map((r) => r.status)).toEqual([200, 500, 200, 200]);
  });

  it('the simulator filters by group_type and model, and refuses what the API refuses', async () => {
    const batch = await raw(ORG_PATH, { group_type: 'batch' });
    expect(batch.status).toBe(200);
    expect(batch.body.data).toHaveLength(1);
    expect(batch.body.data[0]).toMatchObject({
      type: 'rate_limit',
      group_type: 'batch',
      group: { type: 'batch' },
      models: null,
    });
    expect(batch.body.data[0].group.id).toMatch(/^rlg_01/);
    expect(batch.body.next_page).toBeNull();

    const models = await raw(ORG_PATH, { group_type: 'model_group' });
    expect(models.body.data.map((e: any) => e.group.display_name)).toEqual([
      'Claude Opus 4.x',
      'Claude Sonnet 4.x',
      'Claude Sonnet 5',
      'Claude Haiku 4.x',
    ]);

    // An alias and a dated ID find the same single entry.
    for (const model of ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929']) {
      const one = await raw(ORG_PATH, { model });
      expect(one.status).toBe(200);
      expect(one.body.data.map((e: any) => e.group.display_name)).toEqual(['Claude Sonnet 4.x']);
    }

    const none = await raw(ORG_PATH, { model: 'claude-unknown-9' });
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(none.body.error.message).toContain('claude-unknown-9');
    expect(none.body.request_id).toMatch(/^req_/);
    // A model outside the filtered group type is not found either.
    expect((await raw(ORG_PATH, { model: 'claude-haiku-4-5', group_type: 'batch' })).status).toBe(404);

    const bad = await raw(ORG_PATH, { group_type: 'everything' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe('invalid_request_error');
    expect(bad.body.error.message).toContain('group_type');
    expect((await raw(ORG_PATH, { limit: '0' })).status).toBe(400);
    expect((await raw(ORG_PATH, { limit: '1001' })).status).toBe(400);
    expect((await raw(ORG_PATH, { page: 'page_bm9uc2Vuc2U' })).status).toBe(400);
  });

  it('the simulator pages as the API does: next_page until the last page, then null', async () => {
    const seen: string[] = [];
    let page: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r = await raw(ORG_PATH, { limit: '4', ...(page ? { page } : {}) });
      expect(r.status).toBe(200);
      seen.push(...r.body.data.map((e: any) => e.id));
      page = r.body.next_page;
      if (!page) break;
    }
    expect(page).toBeNull();
    expect(seen).toEqual(sim.state.rateLimits.map((e) => e.id));
  });

  it('maps both entry shapes, ignores unknown fields, and drops what is not a limit', async () => {
    sim.faults.inject({
      status: 200,
      path: ORG_PATH,
      body: {
        data: [
          // The documented shape: group_type at the top, no group object.
          {
            type: 'rate_limit',
            group_type: 'model_group',
            models: ['claude-opus-4-5', 7, 'claude-opus-4-8'],
            limits: [
              { type: 'requests_per_minute', value: 4000 },
              { type: 'input_tokens_per_minute', value: '10000000' },
              { type: 'output_tokens_per_minute', value: null },
              { value: 12 },
            ],
          },
          // The newest shape: only group{type, display_name}, with fields the port does not know.
          {
            type: 'rate_limit',
            id: 'rl_x',
            group: { id: 'rlg_01abc', type: 'model_group', display_name: 'Claude Sonnet 4.x', colour: 'blue' },
            models: ['claude-sonnet-4-5'],
            limits: [{ type: 'fast_otpm', value: 90_000, unit: 'tokens' }],
            brand_new: { nested: true },
          },
          // A group type and limiter from the future.
          {
            type: 'rate_limit',
            group: { id: 'rlg_01def', type: 'managed_agents' },
            models: null,
            limits: [{ type: 'sessions_per_hour', value: 60 }],
          },
          // Nothing usable: no limits left.
          { type: 'rate_limit', group_type: 'files', limits: [{ type: 'requests_per_minute', value: 'lots' }] },
          'not an object',
        ],
        next_page: null,
        some_new_envelope_field: 1,
      },
    });
    expect(await client().rateLimits()).toEqual([
      {
        groupType: 'model_group',
        displayName: null,
        models: ['claude-opus-4-5', 'claude-opus-4-8'],
        limits: [
          { type: 'requests_per_minute', value: 4000, orgLimit: null },
          { type: 'input_tokens_per_minute', value: 10_000_000, orgLimit: null },
        ],
      },
      {
        groupType: 'model_group',
        displayName: 'Claude Sonnet 4.x',
        models: ['claude-sonnet-4-5'],
        limits: [{ type: 'fast_otpm', value: 90_000, orgLimit: null }],
      },
      {
        groupType: 'managed_agents',
        displayName: null,
        models: [],
        limits: [{ type: 'sessions_per_hour', value: 60, orgLimit: null }],
      },
    ]);
  });

  it('a server that repeats its page token cannot make the listing loop', async () => {
    sim.faults.inject({
      status: 200,
      path: ORG_PATH,
      times: -1,
      body: { data: [{ group_type: 'files', limits: [{ type: 'requests_per_minute', value: 5 }] }], next_page: 'p1' },
    });
    const groups = await client().rateLimits();
    expect(calls(ORG_PATH)).toHaveLength(2);
    expect(groups).toHaveLength(2);
  });
});

describe('workspace rate limits', () => {
  it("returns a workspace's overrides only, each with the organization's value", async () => {
    expect(await client().workspaceRateLimits(workspaceId('staging'))).toEqual([
      {
        groupType: 'model_group',
        displayName: 'Claude Sonnet 4.x',
        models: ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-0', 'claude-sonnet-4-20250514'],
        limits: [
          { type: 'requests_per_minute', value: 1000, orgLimit: 4000 },
          { type: 'output_tokens_per_minute', value: 100_000, orgLimit: 400_000 },
        ],
      },
      {
        groupType: 'batch',
        displayName: null,
        models: [],
        limits: [{ type: 'enqueued_batch_requests', value: 50_000, orgLimit: 500_000 }],
      },
    ]);
    // Paged too.
    expect(await client({ pageSize: 1 }).workspaceRateLimits(workspaceId('staging'))).toHaveLength(2);
    expect(calls(wsPath(workspaceId('staging'))).slice(1)).toHaveLength(2);
  });

  it('a workspace without overrides, and the Default workspace, have none', async () => {
    expect(await client().workspaceRateLimits(workspaceId('prod'))).toEqual([]);
    expect(await client().workspaceRateLimits(workspaceId('Default'))).toEqual([]);
    const raw0 = await raw(wsPath(workspaceId('Default')));
    expect(raw0).toEqual({ status: 200, body: { data: [], next_page: null } });
  });

  it('an unknown workspace is a 404 in the API error shape, classified as not_found', async () => {
    const e = await failure(client().workspaceRateLimits('wrkspc_01doesnotexist'));
    expect(e.kind).toBe('not_found');
    expect(e.status).toBe(404);
    expect(e.apiMessage).toBe('Workspace `wrkspc_01doesnotexist` not found.');
    expect(e.requestId).toMatch(/^req_/);
    expect(e.attempts).toBe(1);
  });

  it('with include_inherited the simulator lists inherited values too, and the client still keeps only overrides', async () => {
    const research = workspaceId('research');
    const all = await raw(wsPath(research), { include_inherited: 'true' });
    expect(all.body.data).toHaveLength(9);
    const opus = all.body.data[0];
    expect(opus).toMatchObject({ type: 'workspace_rate_limit', workspace_id: research, group_type: 'model_group' });
    expect(opus.limits).toEqual([
      {
        type: 'input_tokens_per_minute_cache_aware',
        value: 500_000,
        org_limit: 2_000_000,
        source: { type: 'workspace' },
      },
      { type: 'requests_per_minute', value: 4000, org_limit: 4000, source: { type: 'organization' } },
      { type: 'output_tokens_per_minute', value: 400_000, org_limit: 400_000, source: { type: 'organization' } },
    ]);
    expect(opus.rate_limit_id).toBe(sim.state.rateLimits[0]!.id);

    // Were the API to answer like that unasked, the client would still report only the override.
    sim.faults.inject({ status: 200, path: wsPath(research), body: all.body });
    const mapped = await client().workspaceRateLimits(research);
    expect(mapped).toEqual([
      {
        groupType: 'model_group',
        displayName: 'Claude Opus 4.x',
        models: ['claude-opus-4-6', 'claude-opus-4-5', 'claude-opus-4-5-20251101'],
        limits: [{ type: 'input_tokens_per_minute_cache_aware', value: 500_000, orgLimit: 2_000_000 }],
      },
    ]);
  });

  it('group_type filters overrides; an unknown group_type is refused', async () => {
    const r = await raw(wsPath(workspaceId('staging')), { group_type: 'batch' });
    expect(r.body.data.map((e: any) => e.group_type)).toEqual(['batch']);
    expect((await raw(wsPath(workspaceId('staging')), { group_type: 'nope' })).status).toBe(400);
  });
});

describe('failures are classified like every Admin API call', () => {
  it('a 500 is retried, then reported as unavailable with the attempts', async () => {
    sim.faults.inject({ status: 500, path: ORG_PATH, times: -1 });
    const e = await failure(client({ maxRetries: 1 }).rateLimits());
    expect(e.kind).toBe('unavailable');
    expect(e.status).toBe(500);
    expect(e.attempts).toBe(2);
    expect(calls(ORG_PATH)).toHaveLength(2);
  });

  it('a 429 with retry-after is waited out and the call succeeds', async () => {
    sim.faults.inject({ status: 429, path: wsPath(workspaceId('staging')), retryAfter: 0.05 });
    expect(await client().workspaceRateLimits(workspaceId('staging'))).toHaveLength(2);
    expect(calls(wsPath(workspaceId('staging'))).map((r) => r.status)).toEqual([429, 200]);
  });

  it('a wrong key is an auth failure, never retried, and the key is not in the error', async () => {
    const wrong = `sk-ant-admin01-${'W'.repeat(93)}AA`;
    const e = await failure(client({ adminKey: wrong }).rateLimits());
    expect(e.kind).toBe('auth');
    expect(e.attempts).toBe(1);
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain(wrong);
  });
});
