/**
 * `npx quartermaster jobs list` and `jobs run NAME` as an operator runs them: a separate process
 * (`node bin/quartermaster.mjs`), configured only by the operator contract's variables, on the bot's database,
 * talking to the Admin API simulator and the fake Slack by URL. A job run from the shell edits the card and
 * tells the requester, exactly as when the bot runs it; a lease held by a replica keeps it from running twice.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { BOT_TOKEN, SIGNING_SECRET, visibleText, waitFor } from '../fakes/slack.js';
import { ADMIN_KEY, startTestApp, type TestApp, writePolicy } from '../support/app.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Requests expire two seconds after they are filed, so the expiry job has something to do in real time.
const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  expires_after: 2s
  remind_before: 1s
`;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY });
});
afterAll(async () => {
  await t?.close();
});

function operatorEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: t.qm.config.DATABASE_URL,
    ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
    ANTHROPIC_BASE_URL: t.sim.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: t.slack.apiUrl,
    QM_POLICY: writePolicy(POLICY),
    NODE_ENV: 'production',
    ...extra,
  };
}

function cli(args: string[], env = operatorEnv()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['bin/quartermaster.mjs', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// Each test starts the real CLI as a process: allow for a slow, busy machine.
describe('jobs list', { timeout: 60_000 }, () => {
  it('prints every scheduled job with its interval and what it does', async () => {
    const r = await cli(['jobs', 'list']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(JOBS.length);
    for (const job of JOBS) {
      const line = lines.find((l) => l.startsWith(`${job.name} `))!;
      expect(line, job.name).toContain(job.description);
    }
    expect(lines.find((l) => l.startsWith('approvals.execute '))).toContain('every 5s');
    expect(lines.find((l) => l.startsWith('directory.sync '))).toContain('every 5m');
  });

  it('is in the usage text', async () => {
    const r = await cli(['help']);
    expect(r.stdout).toContain('jobs list');
    expect(r.stdout).toContain('jobs run NAME');
  });
});

describe('jobs run', { timeout: 60_000 }, () => {
  it('an unknown name lists the jobs and exits 2', async () => {
    const r = await cli(['jobs', 'run', 'approvals.nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('There is no job "approvals.nope"');
    for (const job of JOBS) expect(r.stderr).toContain(job.name);
    const bare = await cli(['jobs', 'run']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('npx quartermaster jobs run NAME');
  });

  it('approvals.expire expires an overdue request, edits its card and tells the requester, as the bot', async () => {
    const before = new Set(t.slack.messages.keys());
    const filed = await t.slack.command(t.url, 'members role dave@example.com developer', 'UBOB');
    expect(visibleText(filed.reply)).toContain('Posted in this channel');
    const card = await waitFor(() => [...t.slack.messages.values()].find((m) => !before.has(m.ts)));
    const id = /Request ([0-9A-Z]{8})/.exec(visibleText(card))![1]!;
    const request = (await t.qm.store.approvals.get(id))!;
    expect(request.status).toBe('pending');
    await waitFor(() => Date.now() > request.expiresAt.getTime() + 50 || undefined, 5000);

    const r = await cli(['jobs', 'run', 'approvals.expire']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^approvals\.expire: 1 expired \(\d+ ms\)\n$/);
    expect((await t.qm.store.approvals.get(id))!.status).toBe('expired');
    expect(visibleText(card)).toContain('Expired');
    expect(t.slack.buttons(card)).toEqual({});
    const dm = [...t.slack.messages.values()].find((m) => m.channel === 'DUBOB' && visibleText(m).includes(id));
    expect(visibleText(dm)).toContain(`Your request ${id} expired without a decision`);
    for (const secret of [ADMIN_KEY, BOT_TOKEN, SIGNING_SECRET]) expect(r.stdout + r.stderr).not.toContain(secret);

    const again = await cli(['jobs', 'run', 'approvals.expire']);
    expect(again.stdout).toContain('approvals.expire: 0 expired');
  }, 60_000);

  it('while another replica holds the lease, says so and exits 0 without running', async () => {
    const now = new Date();
    expect(
      await t.qm.store.leases.acquire('approvals.expire', 'replica-7', new Date(now.getTime() + 60_000), now),
    ).toBe(true);
    try {
      const r = await cli(['jobs', 'run', 'approvals.expire']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('approvals.expire is running in another replica right now');
      expect(r.stdout).not.toContain('expired (');
    } finally {
      await t.qm.store.leases.release('approvals.expire', 'replica-7');
    }
  });

  it('usage.sync and costs.sync ingest the reports; a failing page fails the job with a clear error', async () => {
    const first = await cli(['jobs', 'run', 'usage.sync']);
    expect(first.code, first.stderr).toBe(0);
    // 35 days and the current hour, in pages of 168 hours.
    expect(first.stdout).toMatch(
      /^usage\.sync: usage: 6 requests, [1-9]\d* rows, http \d+ ms, db \d+ ms; anomalies: \d+ checked, 0 anomalous, 0 alerted, 0 ended \(\d+ ms\)\n$/,
    );

    const costs = await cli(['jobs', 'run', 'costs.sync']);
    expect(costs.code, costs.stderr).toBe(0);
    expect(costs.stdout).toMatch(/^costs\.sync: costs: 2 requests, [1-9]\d* rows, .*; claude_code: 36 requests, /);

    t.sim.faults.inject({ path: '/v1/organizations/usage_report/messages', status: 500, times: -1 });
    try {
      const failed = await cli(['jobs', 'run', 'usage.sync']);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain('Usage report sync failed after 0 window(s) written');
      expect(failed.stderr).toContain('The next run resumes from');
      for (const secret of [ADMIN_KEY, BOT_TOKEN, SIGNING_SECRET])
        expect(failed.stdout + failed.stderr).not.toContain(secret);
    } finally {
      t.sim.faults.clear();
    }
  }, 180_000);

  it('a broken policy file is reported like a configuration error (exit 78)', async () => {
    const bad = writePolicy('version: 1\nkinds:\n  member.role: { quorum: 0 }\n');
    const r = await cli(['jobs', 'run', 'approvals.expire'], operatorEnv({ QM_POLICY: bad }));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('quorum');
    expect(r.stderr).not.toContain('    at ');
  });
});
