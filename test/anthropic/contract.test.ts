/**
 * Contract suite: the real client (createAdminApiClient over @anthropic-ai/sdk) against the simulator over real
 * HTTP. What it pins down is the behaviour the core relies on: lists read to the end, errors classified with
 * request ids and attempt counts, creates never blindly retried, and the admin key never leaking into errors.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdminApiClientOptions,
  type AdminApiRequestInfo,
  createAdminApiClient,
} from '../../src/anthropic/client.js';
import { SIMULATOR_ADMIN_KEY, type Simulator, simId, startSimulator } from '../../src/anthropic/simulator/index.js';
import { describeAdminApiError } from '../../src/core/admin-errors.js';
import { AdminApiError } from '../../src/core/ports/admin-api.js';

/** A distinctive key so any leak into an error is easy to spot. Not shaped like a real key on purpose. */
const TEST_KEY = 'sk-ant-admin01-contract-suite-only-key-7f3a';
const NOW = new Date('2026-11-23T12:00:00.000Z');

const BOB = simId('user', 'bob@example.com');
const ALICE = simId('user', 'alice@example.com');
const DAVE = simId('user', 'dave@example.com');
const PROD = simId('wrkspc', 'prod');
const RESEARCH = simId('wrkspc', 'research');

let sim: Simulator;
const seenErrors: AdminApiError[] = [];

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [TEST_KEY], now: () => NOW });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

function client(extra: Partial<AdminApiClientOptions> = {}) {
  return createAdminApiClient({ adminKey: TEST_KEY, baseURL: sim.url, maxRetries: 2, timeoutMs: 5000, ...extra });
}

async function failure(p: Promise<unknown>): Promise<AdminApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AdminApiError);
    seenErrors.push(e as AdminApiError);
    return e as AdminApiError;
  }
  throw new Error('expected the call to fail');
}

const hits = (method: string, path: string) => sim.requests.filter((r) => r.method === method && r.path === path);

describe('lists', () => {
  it('asks for the largest page the API allows (limit=1000), so 1,200 users take two requests', async () => {
    for (let i = 0; i < 1200 - 25; i++) sim.state.addUser({ email: `many${i}@example.com`, role: 'user' });
    const users = await client().listUsers();
    expect(users).toHaveLength(1200);
    const pages = hits('GET', '/v1/organizations/users');
    expect(pages.map((p) => p.query.limit)).toEqual(['1000', '1000']);
  });

  it('pages users past one page and returns every user', async () => {
    for (let i = 0; i < 110; i++) sim.state.addUser({ email: `extra${i}@example.com`, role: 'user' });
    const users = await client({ pageSize: 100 }).listUsers();
    expect(users).toHaveLength(135);
    expect(new Set(users.map((u) => u.id)).size).toBe(135);
    const pages = hits('GET', '/v1/organizations/users');
    expect(pages).toHaveLength(2);
    expect(pages[1]!.query.after_id).toBe(users[99]!.id);
    expect(users[0]).toEqual({
      id: ALICE,
      email: 'alice@example.com',
      name: 'Alice Admin',
      role: 'admin',
      addedAt: '2026-03-02T09:00:00.000Z',
    });
  });

  it('pages API keys with a small page size', async () => {
    const keys = await client({ pageSize: 10 }).listApiKeys();
    expect(keys).toHaveLength(45);
    expect(hits('GET', '/v1/organizations/api_keys')).toHaveLength(5);
    const k = keys[0]!;
    expect(k.partialKeyHint).toMatch(/^sk-ant-api03-.{3}\.\.\..{4}$/);
    expect(k.workspaceId).toBe(PROD);
    expect(k.createdBy?.type).toBe('user');
  });

  it('applies user, key and workspace filters', async () => {
    const c = client();
    expect(await c.listUsers({ email: 'bob@example.com' })).toEqual([
      expect.objectContaining({ id: BOB, role: 'developer' }),
    ]);
    const prodKeys = await c.listApiKeys({ workspaceId: PROD });
    expect(prodKeys).toHaveLength(15);
    expect(prodKeys.every((k) => k.workspaceId === PROD)).toBe(true);
    const archived = await c.listApiKeys({ status: 'archived' });
    expect(archived.length).toBeGreaterThan(0);
    expect(archived.every((k) => k.status === 'archived')).toBe(true);
    const bobs = await c.listApiKeys({ createdByUserId: BOB });
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((k) => k.createdBy?.id === BOB)).toBe(true);

    expect((await c.listWorkspaces()).map((w) => w.name)).toEqual(['prod', 'staging', 'research']);
    const withArchived = await c.listWorkspaces({ includeArchived: true });
    expect(withArchived.map((w) => w.name)).toContain('old-experiments');
    expect(withArchived.map((w) => w.name)).not.toContain('Default');
  });

  it('lists members (including inherited admin/billing roles) and invites', async () => {
    const c = client();
    const members = await c.listWorkspaceMembers(PROD);
    expect(members).toContainEqual({ userId: BOB, workspaceId: PROD, workspaceRole: 'workspace_developer' });
    expect(members).toContainEqual({ userId: ALICE, workspaceId: PROD, workspaceRole: 'workspace_admin' });
    const invites = await c.listInvites();
    expect(invites.map((i) => i.status)).toEqual(['pending', 'pending', 'expired', 'accepted']);
  });
});

describe('writes', () => {
  it('runs the documented write operations end to end', async () => {
    const c = client();
    expect(await c.getOrganization()).toEqual({ id: expect.any(String), name: 'Acme AI (simulated)' });
    expect((await c.updateUserRole(DAVE, 'developer')).role).toBe('developer');

    const inv = await c.createInvite({ email: 'zed@example.com', role: 'user' });
    expect(inv.status).toBe('pending');
    expect(Date.parse(inv.expiresAt!) - Date.parse(inv.invitedAt!)).toBe(21 * 24 * 3600 * 1000);
    await c.deleteInvite(inv.id);

    const ws = await c.createWorkspace({ name: 'ml-platform' });
    expect(ws.id).toMatch(/^wrkspc_01/);
    expect(await c.addWorkspaceMember(ws.id, DAVE, 'workspace_user')).toEqual({
      userId: DAVE,
      workspaceId: ws.id,
      workspaceRole: 'workspace_user',
    });
    expect((await c.updateWorkspaceMember(ws.id, DAVE, 'workspace_developer')).workspaceRole).toBe(
      'workspace_developer',
    );
    await c.removeWorkspaceMember(ws.id, DAVE);
    expect((await c.archiveWorkspace(ws.id)).archivedAt).not.toBeNull();

    const key = (await c.listApiKeys({ workspaceId: RESEARCH, status: 'active' }))[0]!;
    const updated = await c.updateApiKey(key.id, { name: 'renamed', status: 'inactive' });
    expect(updated).toMatchObject({ id: key.id, name: 'renamed', status: 'inactive' });
    expect((await c.getApiKey(key.id)).name).toBe('renamed');
    await c.removeUser(DAVE);
    expect((await failure(c.getUser(DAVE))).kind).toBe('not_found');
  });
});

describe('errors', () => {
  it('400: assigning the admin role is invalid', async () => {
    const e = await failure(client().updateUserRole(BOB, 'admin'));
    expect(e).toMatchObject({ kind: 'invalid', status: 400, attempts: 1 });
    expect(e.apiMessage).toMatch(/admin/);
    expect(e.requestId).toMatch(/^req_/);
    const inv = await failure(client().createInvite({ email: 'x@example.com', role: 'admin' }));
    expect(inv).toMatchObject({ kind: 'invalid', status: 400 });
  });

  it('401: a bad admin key is an auth failure', async () => {
    const e = await failure(createAdminApiClient({ adminKey: 'sk-ant-admin01-wrong', baseURL: sim.url }).listUsers());
    expect(e).toMatchObject({ kind: 'auth', status: 401, apiMessage: 'invalid x-api-key', attempts: 1 });
    expect(describeAdminApiError(e)).toContain(
      "The Anthropic Admin API rejected Quartermaster's admin key (401). An operator needs to check ANTHROPIC_ADMIN_KEY.",
    );
    expect(`${e.message}${e.stack}`).not.toContain('sk-ant-admin01-wrong');
  });

  it('403: removing an admin is refused', async () => {
    const e = await failure(client().removeUser(ALICE));
    expect(e).toMatchObject({ kind: 'permission', status: 403 });
  });

  it('404: unknown ids', async () => {
    const e = await failure(client().getWorkspace('wrkspc_01DoesNotExist0000000000'));
    expect(e).toMatchObject({ kind: 'not_found', status: 404 });
    expect(e.apiMessage).toBe('Workspace `wrkspc_01DoesNotExist0000000000` not found.');
  });

  it('409: a duplicate pending invite is a conflict, not retried', async () => {
    const e = await failure(client().createInvite({ email: 'new.hire@example.com', role: 'user' }));
    expect(e).toMatchObject({ kind: 'conflict', status: 409, attempts: 1 });
    expect(hits('POST', '/v1/organizations/invites')).toHaveLength(1);
  });

  it('429 then 200: retried after retry-after, 2 attempts', async () => {
    const seen: AdminApiRequestInfo[] = [];
    sim.faults.inject({ status: 429, retryAfter: 0.2, path: '/v1/organizations/users' });
    const started = Date.now();
    const users = await client({ onRequest: (i) => seen.push(i) }).listUsers();
    expect(users).toHaveLength(25);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(seen.map((s) => [s.status, s.attempt])).toEqual([
      [429, 1],
      [200, 2],
    ]);
    expect(sim.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('429 persistent: rate_limited after all retries', async () => {
    sim.faults.inject({ status: 429, retryAfter: 0.01, times: Number.POSITIVE_INFINITY });
    const e = await failure(client().getUser(BOB));
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, attempts: 3 });
    expect(describeAdminApiError(e)).toMatch(/rate limiting.*2 retries.*Try again in a minute/);
  });

  it('500 persistent: unavailable with attempts > 1', async () => {
    sim.faults.inject({ status: 500, retryAfter: 0.01, times: Number.POSITIVE_INFINITY, method: 'GET' });
    const e = await failure(client().listApiKeys());
    expect(e).toMatchObject({ kind: 'unavailable', status: 500, attempts: 3 });
    expect(e.apiMessage).toBe('Internal server error');
    expect(hits('GET', '/v1/organizations/api_keys')).toHaveLength(3);
    expect(describeAdminApiError(e)).toContain("Anthropic's API is having trouble (500) after 3 attempts");
    expect(describeAdminApiError(e)).toContain(`Request id: ${e.requestId}`);
  });

  it('529 once then success: idempotent updates are retried', async () => {
    sim.faults.inject({ status: 529, retryAfter: 0.01, method: 'POST' });
    const key = simId('apikey', 'prod-worker');
    expect((await client().updateApiKey(key, { status: 'inactive' })).status).toBe('inactive');
    expect(hits('POST', `/v1/organizations/api_keys/${key}`).map((r) => r.status)).toEqual([529, 200]);
  });

  it('timeout: no answer within timeoutMs', async () => {
    sim.faults.inject({ status: 0, delayMs: 1000 });
    const e = await failure(client({ timeoutMs: 100, maxRetries: 0 }).getOrganization());
    expect(e).toMatchObject({ kind: 'timeout', status: null, attempts: 1 });
  });

  it('connection refused: network', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = createAdminApiClient({ adminKey: TEST_KEY, baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
    const e = await failure(c.listUsers());
    expect(e).toMatchObject({ kind: 'network', status: null, attempts: 1 });
    expect(describeAdminApiError(e)).toContain('could not reach');
  });
});

describe('creates are not retried on failures that may hide a success', () => {
  it('createInvite: one request on a persistent 500', async () => {
    sim.faults.inject({ status: 500, retryAfter: 0, times: Number.POSITIVE_INFINITY, method: 'POST' });
    const e = await failure(client().createInvite({ email: 'once@example.com', role: 'user' }));
    expect(e).toMatchObject({ kind: 'unavailable', attempts: 1 });
    expect(hits('POST', '/v1/organizations/invites')).toHaveLength(1);
  });

  it('createWorkspace: one request on a 500', async () => {
    sim.faults.inject({ status: 500, times: 5, path: '/v1/organizations/workspaces' });
    const e = await failure(client().createWorkspace({ name: 'once' }));
    expect(e.attempts).toBe(1);
    expect(hits('POST', '/v1/organizations/workspaces')).toHaveLength(1);
  });

  it('createWorkspace: one request on a timeout', async () => {
    sim.faults.inject({ status: 0, delayMs: 800, path: '/v1/organizations/workspaces' });
    const e = await failure(client({ timeoutMs: 100 }).createWorkspace({ name: 'slow' }));
    expect(e).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(hits('POST', '/v1/organizations/workspaces')).toHaveLength(1);
  });

  it('createWorkspace: retried on 429, which means nothing happened', async () => {
    sim.faults.inject({ status: 429, retryAfter: 0.01, path: '/v1/organizations/workspaces' });
    const ws = await client().createWorkspace({ name: 'after-429' });
    expect(ws.name).toBe('after-429');
    expect(hits('POST', '/v1/organizations/workspaces').map((r) => r.status)).toEqual([429, 200]);
  });

  it('createInvite: gives up after maxRetries 429s', async () => {
    sim.faults.inject({ status: 429, retryAfter: 0.01, times: 10, path: '/v1/organizations/invites' });
    const e = await failure(client({ maxRetries: 1 }).createInvite({ email: 'rl@example.com', role: 'user' }));
    expect(e).toMatchObject({ kind: 'rate_limited', attempts: 2 });
  });
});

describe('tolerance', () => {
  it('maps objects with unknown fields, unknown enum values and missing optional fields', async () => {
    sim.faults.inject({
      status: 200,
      path: `/v1/organizations/users/${BOB}`,
      body: {
        id: BOB,
        type: 'user',
        email: 'bob@example.com',
        name: 'Bob',
        role: 'primary_owner',
        added_at: '2024-10-30T23:58:27.427722Z',
        rbac_group_ids: ['g1'],
        brand_new_field: { nested: true },
      },
    });
    expect(await client().getUser(BOB)).toEqual({
      id: BOB,
      email: 'bob@example.com',
      name: 'Bob',
      role: 'primary_owner',
      addedAt: '2024-10-30T23:58:27.427722Z',
    });

    sim.faults.inject({
      status: 200,
      path: '/v1/organizations/api_keys',
      body: {
        data: [
          {
            id: 'apikey_01A',
            type: 'api_key',
            name: 'new-style',
            status: 'quarantined',
            partial_key_hint: null,
            scope: { type: 'workspace', workspace_id: PROD },
            principal: { type: 'service_account_actor', service_account_id: 'svac_1' },
            created_at: '2026-01-01T00:00:00Z',
            created_by: null,
            expires_at: null,
          },
          { id: 'apikey_01B', type: 'api_key', name: 'old-style', status: 'active', workspace_id: null, scope: null },
          {
            id: 'apikey_01C',
            name: 'org',
            status: 'active',
            scope: { type: 'organization' },
            created_by: { id: 'svac_9', type: 'service_account' },
          },
        ],
        has_more: false,
        first_id: 'apikey_01A',
        last_id: 'apikey_01C',
      },
    });
    const [a, b, c] = await client().listApiKeys();
    expect(a).toMatchObject({ status: 'quarantined', partialKeyHint: null, workspaceId: PROD, createdBy: null });
    expect(b).toMatchObject({ workspaceId: null, createdAt: null, expiresAt: null, partialKeyHint: null });
    expect(c).toMatchObject({ workspaceId: null, createdBy: { id: 'svac_9', type: 'service_account' } });
  });
});

describe('authentication', () => {
  it('the simulator accepts both x-api-key and Authorization: Bearer; the client sends both', async () => {
    const url = `${sim.url}/v1/organizations/me`;
    const version = { 'anthropic-version': '2023-06-01' };
    expect((await fetch(url, { headers: { ...version, 'x-api-key': SIMULATOR_ADMIN_KEY } })).status).toBe(200);
    expect((await fetch(url, { headers: { ...version, authorization: `Bearer ${SIMULATOR_ADMIN_KEY}` } })).status).toBe(
      200,
    );
    await client().getOrganization();
    const sent = sim.requests.at(-1)!.headers;
    expect(sent.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(sent['x-api-key']).toBe(TEST_KEY);
    expect(sent['anthropic-version']).toBeTruthy();
  });

  it('never puts the admin key in an error message, stack or description', async () => {
    // Also provoke errors whose body or URL might echo request details.
    sim.faults.inject({ status: 502, body: 'Bad gateway', times: 3, retryAfter: 0.01 });
    seenErrors.push(await failure(client().listUsers()));
    seenErrors.push(await failure(client().getUser(TEST_KEY)));
    expect(seenErrors.length).toBeGreaterThanOrEqual(2);
    for (const e of seenErrors) {
      const everything = [e.message, e.stack, e.apiMessage, JSON.stringify(e), describeAdminApiError(e)].join('\n');
      expect(everything).not.toContain(TEST_KEY);
    }
  });
});

describe('describeAdminApiError', () => {
  it('has a message for every kind', () => {
    const kinds = [
      'auth',
      'permission',
      'not_found',
      'conflict',
      'invalid',
      'rate_limited',
      'unavailable',
      'timeout',
      'network',
    ] as const;
    const texts = kinds.map((kind) =>
      describeAdminApiError(new AdminApiError({ kind, status: null, apiMessage: 'x', requestId: 'req_1' })),
    );
    expect(new Set(texts).size).toBe(kinds.length);
    for (const t of texts) expect(t).toContain('Request id: req_1');
  });
});
