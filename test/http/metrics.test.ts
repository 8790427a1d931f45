/**
 * `GET /metrics` (prom-client on its own registry) behind the optional METRICS_TOKEN bearer, with latency
 * histograms for commands and Admin API requests, the default process metrics, and approval requests by
 * status counted by the database; `/readyz` says how many migrations are pending without naming them.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest, Store } from '../../src/core/ports/store.js';
import { Metrics } from '../../src/http/metrics.js';
import { createHttpServer, listen } from '../../src/http/server.js';
import { createLogger } from '../../src/log/logger.js';
import { openStore } from '../../src/store/index.js';
import { waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createBareDatabaseUrl } from '../support/db.js';

const METRICS_TOKEN = 'metrics-token-for-tests-5d1f9a3c7b';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { METRICS_TOKEN } });
});
afterAll(async () => {
  await t?.close();
});

const scrape = (authorization?: string) =>
  fetch(`${t.url}/metrics`, { headers: authorization ? { authorization } : {} });

async function fileRequest(store: Store, n: number): Promise<ApprovalRequest> {
  const now = new Date();
  return store.approvals.create({
    kind: 'member.role',
    requester: { platform: 'slack', teamId: 'T1', userId: `U${n}`, orgUserId: `user_${n}`, email: `u${n}@example.com` },
    workspaceId: null,
    workspaceName: null,
    payload: { n },
    reason: null,
    summary: `request ${n}`,
    quorum: 1,
    approvers: { roles: ['admin'] },
    policySource: 'default',
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
  } as Parameters<Store['approvals']['create']>[0]);
}

describe('GET /metrics with METRICS_TOKEN', () => {
  it('refuses a scrape without the bearer token, or with a wrong one, with 401 and WWW-Authenticate: Bearer', async () => {
    for (const header of [undefined, 'Bearer wrong-token', `Basic ${btoa(`x:${METRICS_TOKEN}`)}`, METRICS_TOKEN]) {
      const res = await scrape(header);
      expect(res.status, String(header)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.text();
      expect(body).toContain('METRICS_TOKEN');
      expect(body).not.toContain(METRICS_TOKEN);
      expect(body).not.toContain('qm_commands_total');
    }
  });

  it('serves prom-client text with the default process metrics and latency histograms to the right token', async () => {
    await t.slack.command(t.url, 'whoami', 'UALICE');
    await t.slack.command(t.url, 'keys list', 'UALICE');
    // A command is counted once its audit entry is written, a moment after its answer reaches Slack.
    const res = await waitFor(async () => {
      const r = await scrape(`Bearer ${METRICS_TOKEN}`);
      const body = await r.text();
      return body.includes('name="keys list",outcome="allowed"') ? { r, body } : undefined;
    });
    expect(res.r.status).toBe(200);
    expect(res.r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = res.body;
    // Default Node.js process metrics, registered on Quartermaster's own registry.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    // Command latency by command path and outcome.
    expect(text).toMatch(
      /^qm_command_duration_seconds_bucket\{le="\+Inf",platform="slack",name="keys list",outcome="allowed"\} [1-9]/m,
    );
    expect(text).toMatch(/^qm_command_duration_seconds_count\{platform="slack",name="whoami",outcome="allowed"\} 1$/m);
    // Admin API latency by method, endpoint template (ids replaced) and status.
    expect(text).toMatch(
      /^qm_admin_api_request_duration_seconds_count\{method="GET",endpoint="\/v1\/organizations\/api_keys",status="200"\} [1-9]/m,
    );
    expect(text).not.toMatch(/endpoint="[^"]*(user|wrkspc|apikey)_[A-Za-z0-9]{8,}/);
    expect(text).toMatch(/^qm_commands_total\{platform="slack",name="whoami",outcome="allowed"\} 1$/m);
  });

  it('counts approval requests by status in the database', async () => {
    const store = t.qm.store;
    const before = await store.approvals.countByStatus();
    const a = await fileRequest(store, 1);
    await fileRequest(store, 2);
    await fileRequest(store, 3);
    await store.approvals.close(a.id, 'cancelled', new Date(), null);
    const after = await store.approvals.countByStatus();
    expect(after.pending).toBe((before.pending ?? 0) + 2);
    expect(after.cancelled).toBe((before.cancelled ?? 0) + 1);
    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    expect(text).toMatch(new RegExp(`^qm_approval_requests\\{status="pending"\\} ${after.pending}$`, 'm'));
    expect(text).toMatch(new RegExp(`^qm_approval_requests\\{status="cancelled"\\} ${after.cancelled}$`, 'm'));
  });

  it('keeps METRICS_TOKEN out of the log', () => {
    expect(t.logs.join('')).not.toContain(METRICS_TOKEN);
  });
});

describe('GET /readyz with migrations not applied', () => {
  it('says how many are pending and how to apply them, and names them only in the log', async () => {
    const db = await createBareDatabaseUrl();
    const store = await openStore(db.url);
    const logs: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(c, _e, cb) {
          logs.push(c.toString());
          cb();
        },
      }) as never,
    });
    const server = createHttpServer({ store, logger, routes: new Map(), metrics: new Metrics() });
    try {
      const { port } = await listen(server, 0, '127.0.0.1');
      const pending = await store.health.pendingMigrations();
      expect(pending.length).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(503);
      const body = await res.text();
      expect(JSON.parse(body).problems).toContain(
        `${pending.length} database migration${pending.length === 1 ? ' is' : 's are'} not applied; run: npx quartermaster migrate`,
      );
      for (const name of pending) expect(body).not.toContain(name);
      expect(logs.join('')).toContain(pending[0]!);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
      await db.drop();
    }
  });
});
