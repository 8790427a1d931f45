/**
 * End to end on Slack: correctly signed slash commands into the real Bolt app, its WebClient on a fake
 * Slack Web API, the Admin API client on the simulator over HTTP, a real database. Asserts what the
 * person who typed the command sees, and what lands in the audit log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FORM, SIGNING_SECRET, visibleText } from '../fakes/slack.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
/** A realistically shaped API key (not a real one): `sk-ant-api03-`, 93 characters, `AA`. */
const PASTED_KEY = `sk-ant-api03-${'Vq3_mK8-xZ1pR7'.repeat(7).slice(0, 93)}AA`;
/** The last command run: who typed it, when, and the audit entries that existed before it. */
let last: { user: string; at: Date; before: Set<string> } | null = null;
/** The audit entry of a command by user since a time: the reply reaches Slack a moment before it is written. */
const auditOf = async (c: NonNullable<typeof last>) => {
  for (let i = 0; i < 150; i++) {
    const { entries } = await t.qm.store.audit.list({ limit: 10 });
    const entry = entries.find((e) => e.actorId === c.user && e.at >= c.at && !c.before.has(e.id));
    if (entry) return entry;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no audit entry for the last command');
};
const run = async (text: string, user = 'UALICE') => {
  // The previous command's entry is written first, so it can never be taken for this one's.
  if (last) await auditOf(last).catch(() => undefined);
  const { entries } = await t.qm.store.audit.list({ limit: 10 });
  last = { user, at: new Date(), before: new Set(entries.map((e) => e.id)) };
  return t.slack.command(t.url, text, user);
};
/** The audit entry of the last command. */
const lastAudit = () => auditOf(last!);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});
beforeEach(() => {
  t.sim.faults.clear();
});

describe('signature verification (Bolt)', () => {
  it('rejects an unsigned request with 401 and runs nothing', async () => {
    const body = t.slack.slashCommandBody('whoami', 'UALICE', 'unsigned');
    const res = await fetch(`${t.url}/slack/events`, { method: 'POST', headers: { 'content-type': FORM }, body });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.slack.responses.find((r) => r.id === 'unsigned')).toBeUndefined();
  });

  it('rejects a request signed with the wrong secret with 401', async () => {
    const r = await t.slack.command(t.url, 'whoami', 'UALICE', { signWith: 'not-the-secret' });
    expect(r.status).toBe(401);
  });

  it('rejects a stale request (signed 6 minutes ago) with 401', async () => {
    const r = await t.slack.command(t.url, 'whoami', 'UALICE', { timestamp: Math.floor(Date.now() / 1000) - 360 });
    expect(r.status).toBe(401);
    // The same body signed now is accepted: it was the age, not the signature.
    expect((await run('whoami')).status).toBe(200);
  });
});

describe('acknowledge first, then answer', () => {
  it('acks with an empty 200 at once even when the Admin API is slow, and answers on the response_url', async () => {
    t.sim.faults.inject({ status: 0, delayMs: 2500, path: '/v1/organizations/api_keys' });
    const r = await run('keys list');
    expect(r.status).toBe(200);
    expect(r.ackBody).toBe('');
    expect(r.ackMs).toBeLessThan(1500);
    expect(r.reply.response_type).toBe('ephemeral');
    expect(visibleText(r.reply)).toContain('API keys');
  });
});

describe('/qm whoami and /qm help', () => {
  it('shows an admin who they act as, with org role and organization', async () => {
    const r = await run('whoami');
    const text = visibleText(r.reply);
    expect(text).toContain('alice@example.com');
    expect(text).toContain('admin');
    expect(text).toContain('Acme AI (simulated)');
    expect(text).toContain('workspace_admin');
  });

  it('links by verified email case-insensitively and shows explicit workspace roles', async () => {
    const text = visibleText((await run('whoami', 'UBOB')).reply);
    expect(text).toContain('bob@example.com');
    expect(text).toContain('developer');
    expect(text).toMatch(/prod: `?workspace_developer/);
    expect(text).toMatch(/staging: `?workspace_developer/);
    const link = await t.qm.store.links.find('slack', t.slack.team.id, 'UBOB');
    expect(link?.method).toBe('slack_email');
  });

  it('help lists only what the caller may run', async () => {
    const admin = visibleText((await run('help')).reply);
    expect(admin).toContain('/qm audit');
    expect(admin).toContain('/qm keys list');
    const user = visibleText((await run('help', 'UDAVE')).reply);
    expect(user).toContain('/qm workspaces list');
    expect(user).not.toContain('/qm audit');
    expect(user).not.toContain('/qm keys list');
  });

  it('an empty /qm shows help', async () => {
    expect(visibleText((await run('')).reply)).toContain('Quartermaster help');
  });
});

describe('unlinked, guest and external users', () => {
  it('a Slack user whose email is not in the org is told so, denied, and audited', async () => {
    const r = await run('keys list', 'UZED');
    const text = visibleText(r.reply);
    expect(text).toContain('zed@example.com');
    expect(text).toMatch(/No member of the Anthropic organization/);
    const a = await lastAudit();
    expect(a).toMatchObject({
      actorId: 'UZED',
      action: 'keys list',
      outcome: 'denied',
      errorCode: 'UNLINKED',
      stage: 'authorize',
    });
  });

  it('an unlinked user can still run help and whoami, which explain why', async () => {
    expect(visibleText((await run('whoami', 'UZED')).reply)).toMatch(/No member of the Anthropic organization/);
    expect(visibleText((await run('help', 'UZED')).reply)).toMatch(/not linked/);
  });

  it('refuses guests with a clear message', async () => {
    const text = visibleText((await run('keys list', 'UGUEST')).reply);
    expect(text).toMatch(/Guest accounts cannot use Quartermaster/);
    expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UGUEST')).toBeNull();
  });

  it('refuses external (Slack Connect) users', async () => {
    const text = visibleText((await run('whoami', 'UEXT')).reply);
    expect(text).toMatch(/another organization/);
  });

  it('does not link an unconfirmed email, even one that belongs to an org member', async () => {
    const text = visibleText((await run('keys list', 'UUNCONF')).reply);
    expect(text).toMatch(/not confirmed/);
    expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UUNCONF')).toBeNull();
  });

  it('a user whose email Slack does not share gets the operator link command; once linked, they act as that member', async () => {
    const text = visibleText((await run('whoami', 'UNOMAIL')).reply);
    expect(text).toContain(`npx quartermaster link slack ${t.slack.team.id} UNOMAIL`);
    const erin = (await t.qm.store.directory.findUserByEmail('erin@example.com'))!;
    const now = new Date();
    await t.qm.store.links.upsert({
      platform: 'slack',
      teamId: t.slack.team.id,
      userId: 'UNOMAIL',
      orgUserId: erin.id,
      email: erin.email,
      method: 'operator',
      linkedAt: now,
      refreshedAt: now,
    });
    const after = visibleText((await run('whoami', 'UNOMAIL')).reply);
    expect(after).toContain('erin@example.com');
    expect(after).toContain('claude_code_user');
  });
});

describe('permissions', () => {
  it('a user without permission is denied, told which role is needed, and the denial is audited', async () => {
    const r = await run('members list', 'UDAVE');
    const text = visibleText(r.reply);
    expect(text).toMatch(/needs the \*developer\* org role/);
    expect(text).toContain('you are *user*');
    expect(await lastAudit()).toMatchObject({
      action: 'members list',
      outcome: 'denied',
      errorCode: 'FORBIDDEN',
      actorEmail: 'dave@example.com',
    });
  });

  it('/qm audit is for admins only', async () => {
    expect(visibleText((await run('audit', 'UBOB')).reply)).toMatch(/needs the \*admin\* org role/);
    const text = visibleText((await run('audit limit:50')).reply);
    expect(text).toContain('Audit log');
    expect(text).toMatch(/dave@example.com · `members list` · FORBIDDEN at authorize/);
  });
});

describe('/qm keys list', () => {
  const simKeys = () => t.sim.state.apiKeys;

  it('pages the whole list with a footer naming the next page, and never shows more than the hint', async () => {
    const total = simKeys().length;
    expect(total).toBeGreaterThan(15);
    const first = visibleText((await run('keys list')).reply);
    expect(first).toContain(`Showing 1–15 of ${total} keys`);
    expect(first).toContain('/qm keys list page:2');
    const last = Math.ceil(total / 15);
    const end = visibleText((await run(`keys list page:${last}`)).reply);
    expect(end).toContain(`of ${total} keys (page ${last} of ${last})`);
    for (const m of first.matchAll(/sk-ant-[^\s`]*/g)) expect(m[0]).toMatch(/^sk-ant-api03-.{3}\.\.\..{4}$/);
  });

  it('filters by workspace name and status', async () => {
    const prod = t.sim.state.workspaces.find((w) => w.name === 'prod')!;
    const expected = simKeys().filter((k) => k.scope_workspace_id === prod.id && t.sim.state.keyStatus(k) === 'active');
    const text = visibleText((await run('keys list workspace:prod status:active')).reply);
    expect(text).toContain(`of ${expected.length} keys`);
    for (const k of expected.slice(0, 15)) expect(text).toContain(k.name);
    expect(text).not.toMatch(/`inactive`|`archived`/);
  });

  it('a developer sees only keys of their workspaces and their own, and is told others are hidden', async () => {
    const text = visibleText((await run('keys list', 'UBOB')).reply);
    expect(text).toContain('Keys in workspaces where you are not a developer or admin are not shown.');
    // Not even how many there are.
    expect(text).not.toMatch(/\d+ more keys/);
    // Every key shown is in a workspace where bob is a developer, or is bob's own.
    const entries = text.split('\n').filter((l) => / · owner /.test(l));
    expect(entries.length).toBeGreaterThan(0);
    for (const line of entries) expect(line).toMatch(/^(prod|staging) · |owner bob@example\.com/);
    expect(text).not.toMatch(/^research · owner (?!bob)/m);
  });

  it('an unknown workspace names the ones that exist', async () => {
    const text = visibleText((await run('keys list workspace:prd')).reply);
    expect(text).toMatch(/no workspace called `prd`/);
    expect(text).toContain('`prod`');
  });

  it('a bad option value gets a specific message and the usage', async () => {
    const text = visibleText((await run('keys list status:actve')).reply);
    expect(text).toMatch(/`status` must be one of `active`, `inactive`, `archived`, `expired` \(you typed `actve`\)/);
    expect(text).toContain('Usage');
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', errorCode: 'INVALID_INPUT', stage: 'validate' });
  });

  it('an unknown subcommand suggests the right one', async () => {
    const text = visibleText((await run('keys lst')).reply);
    expect(text).toContain('Did you mean `/qm keys list`?');
  });
});

describe('/qm members list and /qm workspaces list', () => {
  it('lists members, filtered by role', async () => {
    const text = visibleText((await run('members list billing', 'UBOB')).reply);
    expect(text).toContain('carol@example.com');
    expect(text).not.toContain('bob@example.com');
  });

  it('lists workspaces with member and key counts', async () => {
    const text = visibleText((await run('workspaces list', 'UDAVE')).reply);
    for (const name of ['prod', 'staging', 'research']) expect(text).toContain(`*${name}*`);
    expect(text).toMatch(/\d+ members · \d+ active keys/);
  });
});

describe('Admin API failures reach the user as plain explanations', () => {
  // Lists answer from the synced directory; a command that names a key reads that one key live (GET).
  const oneKey = /^\/v1\/organizations\/api_keys\/[^/]+$/;
  const disable = 'keys disable staging-temp reason:"no longer used"';

  it('401: the admin key was rejected; the operator is named', async () => {
    t.sim.faults.inject({ status: 401, path: oneKey });
    const text = visibleText((await run(disable)).reply);
    expect(text).toMatch(/rejected Quartermaster's admin key \(401\)/);
    expect(text).toContain('ANTHROPIC_ADMIN_KEY');
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', errorCode: 'UPSTREAM_FAILED', stage: 'run' });
  });

  it('429 then 200: retried after retry-after and answered normally', async () => {
    const before = t.sim.requests.filter((r) => oneKey.test(r.path)).length;
    t.sim.faults.inject({ status: 429, retryAfter: 0, path: oneKey });
    const text = visibleText((await run(disable)).reply);
    // The normal answer for that key (it is inactive already), from the retried read.
    expect(text).toContain('is already disabled (inactive)');
    const calls = t.sim.requests.filter((r) => oneKey.test(r.path)).slice(before);
    expect(calls.map((c) => c.status).slice(0, 2)).toEqual([429, 200]);
    expect(await lastAudit()).toMatchObject({ errorCode: 'CONFLICT' });
  });

  it('500 on every attempt: explained after retries, audited as failed', async () => {
    t.sim.faults.inject({ status: 500, times: 10, path: oneKey });
    const text = visibleText((await run(disable)).reply);
    expect(text).toMatch(/Anthropic's API is having trouble \(500\) after 3 attempts/);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', errorCode: 'UPSTREAM_FAILED' });
    t.sim.faults.clear();
  });
});

describe('health and secrets', () => {
  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('a command carrying a pasted key is refused before it is parsed: nothing echoed, stored or filed', async () => {
    const requestCount = async () => (await t.qm.store.approvals.list({ limit: 1000 })).length;
    const before = await requestCount();
    const cases = [
      // An enum option: validation would have answered "you typed `sk-ant-…`".
      { text: `keys list status:${PASTED_KEY}`, action: 'keys list' },
      // An unknown subcommand: parsing would have answered "There is no `/qm sk-ant-…`".
      { text: PASTED_KEY, action: '[REDACTED]' },
      // A request's reason: it would have been stored and posted on the approval card.
      { text: `members role bob@example.com billing reason:"leaked ${PASTED_KEY}"`, action: 'members role' },
    ];
    for (const c of cases) {
      const text = visibleText((await run(c.text)).reply);
      expect(text).toContain('That looks like an Anthropic API key');
      expect(text).toContain('did not run the command or store what you typed');
      expect(text).toContain('/qm keys disable');
      // The hint the Console and `/qm keys list` show, so the key can be found and disabled.
      expect(text).toContain(`${PASTED_KEY.slice(0, 16)}...${PASTED_KEY.slice(-4)}`);
      expect(await lastAudit()).toMatchObject({
        actorId: 'UALICE',
        action: c.action,
        outcome: 'failed',
        errorCode: 'SECRET_IN_INPUT',
        stage: 'validate',
      });
    }
    expect(await requestCount()).toBe(before);
    const audit = (await t.qm.store.audit.list({ limit: 500 })).entries;
    const seen = {
      logs: t.logs.join(''),
      'audit options': JSON.stringify(audit.map((a) => a.options)),
      'audit messages': JSON.stringify(audit.map((a) => a.message)),
      'audit (all columns)': JSON.stringify(audit),
      'Slack Web API calls': JSON.stringify(t.slack.calls.map((c) => c.args)),
      'Slack responses': JSON.stringify(t.slack.responses),
    };
    for (const [where, text] of Object.entries(seen)) {
      expect(text, where).not.toContain(PASTED_KEY);
      // Nor a telling part of it: the hint's 16 + 4 characters are all that may be shown.
      expect(text, where).not.toContain(PASTED_KEY.slice(10, 40));
    }
  });

  it('no secret appears in any log line or audit entry this suite produced', async () => {
    await run(`keys list workspace:${ADMIN_KEY}`);
    // The entry for that command is written just after its reply: wait for it before reading the log.
    await lastAudit();
    const all = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(20);
    for (const secret of [ADMIN_KEY, PASTED_KEY, SIGNING_SECRET, 'xoxb-1111-2222-fake-bot-token'])
      expect(all).not.toContain(secret);
    expect(all).not.toMatch(/sk-ant-admin01-[A-Za-z0-9_-]{20,}/);
    const audit = JSON.stringify((await t.qm.store.audit.list({ limit: 500 })).entries);
    expect(audit).not.toContain(ADMIN_KEY);
    expect(audit).not.toContain(PASTED_KEY);
    expect(audit).toContain('[REDACTED]');
    // That command was refused for the key, not merely cut short by the option's length limit.
    expect(await lastAudit()).toMatchObject({ action: 'keys list', errorCode: 'SECRET_IN_INPUT' });
    const slack = JSON.stringify([t.slack.calls.map((c) => c.args), t.slack.responses]);
    for (const secret of [ADMIN_KEY, PASTED_KEY]) expect(slack).not.toContain(secret);
  });
});

describe('metrics', () => {
  it('GET /metrics counts commands by outcome and Admin API requests by status', async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/qm_commands_total\{platform="slack",name="keys list",outcome="allowed"\} \d+/);
    expect(text).toMatch(/qm_commands_total\{platform="slack",name="members list",outcome="denied"\} 1/);
    expect(text).toMatch(/qm_admin_api_requests_total\{method="GET",status="429"\} 1/);
    expect(text).toMatch(/qm_uptime_seconds \d+/);
  });
});

describe('whoami without the organization endpoint', () => {
  it('still answers when GET /v1/organizations/me fails', async () => {
    // A fresh caller (not cached) so the organization is fetched again: fail that one call.
    const fresh = await startTestApp();
    try {
      fresh.sim.faults.inject({ status: 404, times: 5, path: '/v1/organizations/me' });
      const r = await fresh.slack.command(fresh.url, 'whoami', 'UALICE');
      const text = visibleText(r.reply);
      expect(text).toContain('alice@example.com');
      expect(text).toContain('unavailable right now');
    } finally {
      await fresh.close();
    }
  });
});
