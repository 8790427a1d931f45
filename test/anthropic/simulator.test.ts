/** The simulator's own HTTP behaviour, exercised with plain fetch (no SDK in between). */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runSimulatorCli } from '../../src/anthropic/simulator/cli.js';
import {
  SIMULATOR_ADMIN_KEY,
  type Simulator,
  SimulatorState,
  seedLarge,
  simId,
  startSimulator,
} from '../../src/anthropic/simulator/index.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const HEADERS = { 'x-api-key': SIMULATOR_ADMIN_KEY, 'anthropic-version': '2023-06-01' };
const PROD = simId('wrkspc', 'prod');
const DEFAULT = simId('wrkspc', 'Default');

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ now: () => NOW });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => sim.reset());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = HEADERS) {
  const res = await fetch(sim.url + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}
const get = (path: string) => call('GET', path);
const post = (path: string, body?: unknown) => call('POST', path, body ?? {});

function expectError(r: { status: number; headers: Headers; json: any }, status: number, type: string) {
  expect(r.status).toBe(status);
  expect(r.json).toEqual({
    type: 'error',
    error: { type, message: expect.any(String) },
    request_id: expect.stringMatching(/^req_/),
  });
  expect(r.headers.get('request-id')).toBe(r.json.request_id);
}

describe('transport', () => {
  it('requires a key and anthropic-version', async () => {
    expectError(
      await call('GET', '/v1/organizations/me', undefined, { 'anthropic-version': '2023-06-01' }),
      401,
      'authentication_error',
    );
    const bad = await call('GET', '/v1/organizations/me', undefined, { ...HEADERS, 'x-api-key': 'nope' });
    expectError(bad, 401, 'authentication_error');
    expect(bad.json.error.message).toBe('invalid x-api-key');
    expectError(
      await call('GET', '/v1/organizations/me', undefined, { 'x-api-key': SIMULATOR_ADMIN_KEY }),
      400,
      'invalid_request_error',
    );
    expect(
      (await call('GET', '/v1/organizations/me', undefined, { ...HEADERS, 'anthropic-version': '2099-01-01' })).status,
    ).toBe(200);
  });

  it('validates limit and ignores ?beta=true', async () => {
    expectError(await get('/v1/organizations/users?limit=0'), 400, 'invalid_request_error');
    expectError(await get('/v1/organizations/users?limit=1001'), 400, 'invalid_request_error');
    const r = await get('/v1/organizations/users?beta=true&limit=1000');
    expect(r.json.data).toHaveLength(25);
    expect(r.json.has_more).toBe(false);
  });

  it('pages with after_id and before_id', async () => {
    const first = await get('/v1/organizations/users');
    expect(first.json.data).toHaveLength(20);
    expect(first.json.has_more).toBe(true);
    const second = await get(`/v1/organizations/users?after_id=${first.json.last_id}`);
    expect(second.json.data).toHaveLength(5);
    expect(second.json.has_more).toBe(false);
    const back = await get(`/v1/organizations/users?limit=3&before_id=${second.json.first_id}`);
    expect(back.json.data.map((u: any) => u.id)).toEqual(first.json.data.slice(17).map((u: any) => u.id));
    expect(back.json.has_more).toBe(true);
    const empty = await get('/v1/organizations/users?email=nobody@example.com');
    expect(empty.json).toEqual({ data: [], first_id: null, last_id: null, has_more: false });
  });

  it('returns 404 for unknown routes and ids', async () => {
    expectError(await get('/v1/organizations/nothing'), 404, 'not_found_error');
    expectError(await get('/v1/organizations/api_keys/apikey_01nope'), 404, 'not_found_error');
  });
});

describe('rules', () => {
  it('users: no admin role, no removing admins', async () => {
    const bob = simId('user', 'bob@example.com');
    expectError(await post(`/v1/organizations/users/${bob}`, { role: 'admin' }), 400, 'invalid_request_error');
    expect((await post(`/v1/organizations/users/${bob}`, { role: 'billing' })).json.role).toBe('billing');
    expectError(
      await call('DELETE', `/v1/organizations/users/${simId('user', 'alice@example.com')}`),
      403,
      'permission_error',
    );
    expect((await call('DELETE', `/v1/organizations/users/${bob}`)).json).toEqual({ id: bob, type: 'user_deleted' });
  });

  it('invites: 21-day expiry, no admin', async () => {
    expectError(
      await post('/v1/organizations/invites', { email: 'a@example.com', role: 'admin' }),
      400,
      'invalid_request_error',
    );
    const inv = (await post('/v1/organizations/invites', { email: 'a@example.com', role: 'user' })).json;
    expect(inv).toMatchObject({ type: 'invite', status: 'pending', invited_at: NOW.toISOString() });
    expect(inv.id).toMatch(/^invite_01/);
    expect(inv.expires_at).toBe('2026-12-14T12:00:00.000Z');
    expect((await call('DELETE', `/v1/organizations/invites/${inv.id}`)).json.type).toBe('invite_deleted');
  });

  it('workspaces: Default hidden and protected, archive cascades to keys, active limit', async () => {
    expect((await get('/v1/organizations/workspaces')).json.data.map((w: any) => w.name)).toEqual([
      'prod',
      'staging',
      'research',
    ]);
    const all = (await get('/v1/organizations/workspaces?include_default=true&include_archived=true')).json.data;
    expect(all.map((w: any) => w.name)).toEqual(['Default', 'prod', 'staging', 'research', 'old-experiments']);
    expect((await get(`/v1/organizations/workspaces/${DEFAULT}`)).json.name).toBe('Default');
    expectError(await post(`/v1/organizations/workspaces/${DEFAULT}/archive`), 400, 'invalid_request_error');

    const archived = (await post(`/v1/organizations/workspaces/${PROD}/archive`)).json;
    expect(archived.archived_at).toBe(NOW.toISOString());
    const keys = (await get(`/v1/organizations/api_keys?workspace_id=${PROD}&limit=100`)).json.data;
    expect(keys.length).toBe(15);
    expect(keys.every((k: any) => k.status === 'archived')).toBe(true);

    sim.state.maxActiveWorkspaces = 3;
    expect((await post('/v1/organizations/workspaces', { name: 'fits' })).status).toBe(200);
    expectError(await post('/v1/organizations/workspaces', { name: 'too-many' }), 400, 'invalid_request_error');
  });

  it('members: no workspace_billing, org admins and billing members are fixed', async () => {
    const dave = simId('user', 'dave@example.com');
    const carol = simId('user', 'carol@example.com');
    const alice = simId('user', 'alice@example.com');
    const path = `/v1/organizations/workspaces/${PROD}/members`;
    expectError(await post(path, { user_id: dave, workspace_role: 'workspace_billing' }), 400, 'invalid_request_error');
    expect((await post(path, { user_id: dave, workspace_role: 'workspace_user' })).json).toEqual({
      type: 'workspace_member',
      user_id: dave,
      workspace_id: PROD,
      workspace_role: 'workspace_user',
    });
    expectError(await post(path, { user_id: dave, workspace_role: 'workspace_user' }), 409, 'conflict_error');
    expectError(await post(`${path}/${alice}`, { workspace_role: 'workspace_user' }), 400, 'invalid_request_error');
    expectError(await call('DELETE', `${path}/${carol}`), 400, 'invalid_request_error');
    expect((await post(`${path}/${carol}`, { workspace_role: 'workspace_admin' })).json.workspace_role).toBe(
      'workspace_admin',
    );
    expect((await call('DELETE', `${path}/${dave}`)).json).toEqual({
      type: 'workspace_member_deleted',
      user_id: dave,
      workspace_id: PROD,
    });
  });

  it('api keys: hints, scopes, expired keys cannot be updated', async () => {
    const keys = (await get('/v1/organizations/api_keys?limit=1000')).json.data;
    expect(keys).toHaveLength(45);
    for (const k of keys) {
      expect(k.id).toMatch(/^apikey_01/);
      if (k.partial_key_hint) expect(k.partial_key_hint).toMatch(/^sk-ant-api03-.{3}\.\.\..{2}AA$/);
    }
    const defaults = (await get(`/v1/organizations/api_keys?workspace_id=${DEFAULT}`)).json.data;
    expect(defaults).toHaveLength(6);
    expect(defaults.every((k: any) => k.workspace_id === null && k.scope.workspace_id === DEFAULT)).toBe(true);
    expect(keys.filter((k: any) => k.scope.type === 'organization')).toHaveLength(2);

    const expired = (await get('/v1/organizations/api_keys?status=expired')).json.data;
    expect(expired.map((k: any) => k.name).sort()).toEqual(['research-intern', 'staging-load-test']);
    expectError(await post(`/v1/organizations/api_keys/${expired[0].id}`, { name: 'x' }), 400, 'invalid_request_error');
    const active = keys.find((k: any) => k.status === 'active');
    expectError(
      await post(`/v1/organizations/api_keys/${active.id}`, { status: 'expired' }),
      400,
      'invalid_request_error',
    );
    expectError(await get('/v1/organizations/api_keys?status=bogus'), 400, 'invalid_request_error');
  });
});

describe('reports', () => {
  const start = '2026-11-13T00:00:00Z';
  const end = '2026-11-23T00:00:00Z';

  it('cost_report pages with opaque next_page tokens to the end', async () => {
    const buckets: any[] = [];
    let page: string | null = null;
    let requests = 0;
    do {
      const q: string = `starting_at=${start}&ending_at=${end}&limit=4${page ? `&page=${page}` : ''}`;
      const r = (await get(`/v1/organizations/cost_report?${q}`)).json;
      requests++;
      buckets.push(...r.data);
      if (r.has_more) {
        expect(r.next_page).toMatch(/^page_/);
        expect(Date.parse(Buffer.from(r.next_page.slice(5), 'base64').toString())).not.toBeNaN();
      } else expect(r.next_page).toBeNull();
      page = r.has_more ? r.next_page : null;
    } while (page);
    expect(requests).toBe(3);
    expect(buckets).toHaveLength(10);
    expect(buckets[0].starting_at).toBe('2026-11-13T00:00:00.000Z');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].starting_at).toBe(buckets[i - 1].ending_at);
    const row = buckets[0].results[0];
    expect(row.amount).toMatch(/^\d+(\.\d+)?$/);
    expect(row).toMatchObject({ currency: 'USD', workspace_id: null, description: null, model: null });
  });

  it('cost_report validates limit, bucket_width and starting_at', async () => {
    expectError(await get(`/v1/organizations/cost_report?starting_at=${start}&limit=32`), 400, 'invalid_request_error');
    expectError(
      await get(`/v1/organizations/cost_report?starting_at=${start}&bucket_width=1h`),
      400,
      'invalid_request_error',
    );
    expectError(await get('/v1/organizations/cost_report'), 400, 'invalid_request_error');
    expectError(
      await get(`/v1/organizations/cost_report?starting_at=${start}&page=garbage`),
      400,
      'invalid_request_error',
    );
  });

  it('accepts group_by[]= and repeated group_by= alike, and is deterministic', async () => {
    const base = `/v1/organizations/usage_report/messages?starting_at=2026-11-20T00:00:00Z&limit=2&bucket_width=1d`;
    const brackets = (await get(`${base}&group_by[]=model&group_by[]=workspace_id`)).json;
    const repeated = (await get(`${base}&group_by=model&group_by=workspace_id`)).json;
    expect(brackets).toEqual(repeated);
    const row = brackets.data[0].results[0];
    expect(row.model).toEqual(expect.any(String));
    expect(row.api_key_id).toBeNull();
    expect(row.service_tier).toBeNull();
    expect(row.uncached_input_tokens).toBeGreaterThan(0);
    expect(row.cache_creation).toEqual({
      ephemeral_5m_input_tokens: expect.any(Number),
      ephemeral_1h_input_tokens: expect.any(Number),
    });

    const ungrouped = (await get(base)).json;
    expect(ungrouped.data[0].results).toHaveLength(1);
    const total = (rows: any[]) => rows.reduce((n, r) => n + r.uncached_input_tokens, 0);
    expect(total(ungrouped.data[0].results)).toBe(total(brackets.data[0].results));

    const cost = (
      await get(`/v1/organizations/cost_report?starting_at=2026-11-20T00:00:00Z&limit=1&group_by[]=description`)
    ).json;
    const tokenRow = cost.data[0].results.find((r: any) => r.cost_type === 'tokens');
    expect(tokenRow).toMatchObject({
      model: expect.any(String),
      token_type: expect.any(String),
      description: expect.stringMatching(/Usage - /),
    });
    expectError(await get(`${base}&group_by[]=colour`), 400, 'invalid_request_error');
  });
});

describe('fault injection', () => {
  it('programmatic: 429 with retry-after and x-should-retry, then recovery', async () => {
    sim.faults.inject({ status: 429, retryAfter: 0, shouldRetry: false, path: /\/users$/ });
    const r = await get('/v1/organizations/users');
    expectError(r, 429, 'rate_limit_error');
    expect(r.headers.get('retry-after')).toBe('0');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect((await get('/v1/organizations/users')).status).toBe(200);
    expect(sim.requests.map((x) => x.status)).toEqual([429, 200]);
  });

  it('over HTTP: inject, clear, reset, state', async () => {
    const control = (method: string, path: string, body?: unknown) =>
      fetch(`${sim.url}/_simulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(
      (await control('POST', 'faults', { status: 503, times: -1, pathPattern: '^/v1/organizations/me$' })).status,
    ).toBe(200);
    expectError(await get('/v1/organizations/me'), 503, 'api_error');
    expectError(await get('/v1/organizations/me'), 503, 'api_error');
    await control('DELETE', 'faults');
    expect((await get('/v1/organizations/me')).status).toBe(200);

    const bob = simId('user', 'bob@example.com');
    await call('DELETE', `/v1/organizations/users/${bob}`);
    let state = (await (await control('GET', 'state')).json()) as any;
    expect(state.users.some((u: any) => u.id === bob)).toBe(false);
    await control('POST', 'reset');
    state = (await (await control('GET', 'state')).json()) as any;
    expect(state.users.some((u: any) => u.id === bob)).toBe(true);
    expect(state.apiKeys).toHaveLength(45);
  });
});

describe('seed', () => {
  it('demo seed has the documented people and workspaces; empty seed is empty', async () => {
    const emails = sim.state.users.map((u) => `${u.email}:${u.role}`);
    expect(emails.slice(0, 5)).toEqual([
      'alice@example.com:admin',
      'bob@example.com:developer',
      'carol@example.com:billing',
      'dave@example.com:user',
      'erin@example.com:claude_code_user',
    ]);
    expect(sim.state.users.find((u) => u.email === 'alice@example.com')!.name).toBe('Alice Admin');
    const empty = await startSimulator({ seed: 'empty' });
    try {
      expect(empty.state.users).toHaveLength(0);
      const r = await fetch(`${empty.url}/v1/organizations/me`, { headers: HEADERS });
      expect(((await r.json()) as any).name).toBe('Acme AI (simulated)');
    } finally {
      await empty.close();
    }
  });

  it('the CLI starts a simulator and says how to point Quartermaster at it', async () => {
    const lines: string[] = [];
    const cliSim = await runSimulatorCli(['--port', '0', '--host', '127.0.0.1'], { log: (l) => lines.push(l) });
    try {
      expect(lines.join('\n')).toContain(`ANTHROPIC_BASE_URL=${cliSim.url} ANTHROPIC_ADMIN_KEY=${SIMULATOR_ADMIN_KEY}`);
      expect((await fetch(`${cliSim.url}/v1/organizations/me`, { headers: HEADERS })).status).toBe(200);
    } finally {
      await cliSim.close();
    }
    await expect(runSimulatorCli(['--port', 'abc'])).rejects.toThrow(/port/);
    await expect(runSimulatorCli(['--seed', 'huge'])).rejects.toThrow(/demo, empty or large/);
  });

  it('the large seed (npm run bench) is an organization of the documented size, the same on every run', () => {
    const seeded = () => {
      const s = new SimulatorState(() => new Date('2026-03-10T00:00:00Z'));
      seedLarge(s);
      return s;
    };
    const org = seeded();
    expect(org.users).toHaveLength(2000);
    expect(org.apiKeys).toHaveLength(10_000);
    expect(org.users.filter((u) => u.role === 'admin').length).toBeGreaterThan(0);
    expect(new Set(org.users.map((u) => u.email)).size).toBe(2000);
    const active = org.workspaces.filter((w) => !w.is_default && w.archived_at === null);
    expect(active).toHaveLength(100);
    for (const w of active) {
      const explicit = org.members.filter((m) => m.workspace_id === w.id).length;
      expect(explicit).toBeGreaterThanOrEqual(20);
      expect(explicit).toBeLessThanOrEqual(60);
    }
    expect(JSON.stringify(seeded().toJSON())).toBe(JSON.stringify(org.toJSON()));
  });
});
