/**
 * An admin key revoked while Quartermaster runs: the Admin API answers 401, `/readyz` turns 503 naming
 * ANTHROPIC_ADMIN_KEY (without the key), and the first successful request clears it again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

async function readyz() {
  const r = await fetch(`${t.url}/readyz`);
  return { status: r.status, text: await r.text() };
}

describe('/readyz and the admin key at run time', () => {
  it('is ready while the Admin API accepts the key', async () => {
    expect((await readyz()).status).toBe(200);
  });

  it('reports 503 naming ANTHROPIC_ADMIN_KEY after a 401, and recovers after a success', async () => {
    t.sim.faults.inject({ status: 401, times: Number.POSITIVE_INFINITY });
    // The periodic directory sync is what meets a revoked key first (lists answer from the synced copy).
    await t.qm.services.directory.sync().catch(() => undefined);
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.text).toContain('The Anthropic Admin API rejected ANTHROPIC_ADMIN_KEY (401)');
    expect(down.text).not.toContain(ADMIN_KEY);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    t.sim.faults.clear();
    await t.qm.services.directory.sync();
    expect(await readyz()).toMatchObject({ status: 200 });
  });

  it('a 403 on a change is that action refused, not a key problem: still ready', async () => {
    t.sim.faults.inject({ status: 403, method: 'POST', times: Number.POSITIVE_INFINITY });
    await expect(t.qm.admin.updateApiKey('apikey_x', { name: 'x' })).rejects.toMatchObject({ status: 403 });
    t.sim.faults.clear();
    expect((await readyz()).status).toBe(200);
  });
});
