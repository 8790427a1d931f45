/**
 * The leak incident flow end to end (issue 11): the real app (Bolt against the fake Slack, the Admin API simulator,
 * a fresh database) with reportSecret and reportChatMessage called directly, as the scanners and webhooks do.
 * Secrets are real-shaped: the simulator's demo keys have the partial_key_hint of a secret made from their id, so
 * the same secret is made here and matches. Then: one alert naming the key; a second sighting joins it (no second
 * card); a duplicate changes nothing; the buttons (approver and not); auto_deactivate; no match; the commands; and
 * nothing logged, posted or stored ever holds a secret. Both databases.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHint } from '../../src/core/leaks/detect.js';
import { reportChatMessage, reportSecret } from '../../src/core/leaks/incidents.js';
import { sendDigestNow } from '../../src/core/spend/digest-send.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { querySql } from '../support/sql.js';

const SEC = 'C0SECURITY';
const CHAT = 'C0CHAT';
let t: TestApp;

/** The secret behind a simulator key's partial_key_hint (as src/anthropic/simulator/state.ts makes it). */
function demoSecret(keyId: string): string {
  const digest = createHash('sha256').update(`secret:${keyId}`).digest('base64url');
  return `sk-ant-api03-${(digest + digest + digest + digest).slice(0, 93)}AA`;
}
const randomApiKey = () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
const randomAdminKey = () => `sk-ant-admin01-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
/** Every key shape, anywhere in a text (no token boundaries: a key inside anything counts). */
const KEY_SHAPED = /sk-ant-(api03|admin01)-[A-Za-z0-9_-]{93}AA|sk-ant-o[ar]t01-[A-Za-z0-9_-]{40}/;

const keyNamed = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!;
const inChannel = (channel: string): FakeSlackMessage[] =>
  [...t.slack.messages.values()].filter((m) => m.channel === channel);
const secretsUsed: string[] = [];

let n = 0;
function sighting(over: Partial<Parameters<typeof reportSecret>[1]['sighting']> = {}) {
  n++;
  return {
    source: 'github' as const,
    sourceKey: `github:test:${n}`,
    location: `acme/api config/prod.env:${n}`,
    url: `https://github.com/acme/api/security/secret-scanning/${n}`,
    actor: 'octocat',
    seenAt: new Date(),
    ...over,
  };
}

async function click(user: string, card: FakeSlackMessage, label: string): Promise<string> {
  const actionId = t.slack.buttons(card)[label];
  expect(actionId, `a ${label} button`).toBeTruthy();
  const revisions = card.history.length;
  const r = await t.slack.click(t.url, { user, actionId: actionId!, message: card });
  expect(r.status).toBe(200);
  const notice = () => t.slack.responses.find((x) => x.id === r.responseId)?.body;
  await waitFor(() => notice() ?? (card.history.length > revisions || undefined), 5000);
  return visibleText(notice() ?? (await waitFor(notice, 300).catch(() => ({ text: '' }))));
}

describe('leak incidents (leaks.channels set, no auto-deactivation)', () => {
  beforeAll(async () => {
    t = await startTestApp({
      policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n'),
    });
    await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
    await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com');
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  let card: FakeSlackMessage;
  let incidentId: string;

  it('one alert names the key, its workspace, owner and live status, with a redacted excerpt', async () => {
    const key = keyNamed('prod-chat');
    const owner = t.sim.state.users.find((u) => u.id === key.created_by!.id)!;
    const secret = demoSecret(key.id);
    secretsUsed.push(secret);
    expect(keyHint(secret)).toBe(key.partial_key_hint);
    const out = await reportSecret(t.qm.services, {
      secret,
      kind: 'anthropic_api_key',
      sighting: sighting(),
      excerpt: `ANTHROPIC_API_KEY=${secret} # and sk-ant-api03-short`,
    });
    expect(out).toMatchObject({ created: true, duplicate: false });
    expect(out.incident).toMatchObject({ apiKeyId: key.id, apiKeyName: 'prod-chat', status: 'open', sightingCount: 1 });
    incidentId = out.incident.id;
    expect(inChannel(SEC)).toHaveLength(1);
    card = inChannel(SEC)[0]!;
    const text = visibleText(card);
    expect(text).toContain('Leaked Anthropic API key');
    expect(text).toContain(key.partial_key_hint!);
    expect(text).toContain('prod-chat');
    expect(text).toContain(key.id);
    expect(text).toContain('prod');
    expect(text).toContain(owner.email);
    expect(text).toContain('`active`');
    expect(text).toContain('octocat');
    expect(text).toContain('acme/api config/prod.env');
    expect(text).toContain(`ANTHROPIC_API_KEY=${key.partial_key_hint} # and sk-ant-…`);
    expect(text).toContain(incidentId);
    expect(text).toMatch(/Sightings\W+1 \(first/);
    expect(Object.keys(t.slack.buttons(card))).toEqual(['Deactivate', 'Archive', 'False positive']);
    expect((await t.qm.store.leaks.get(incidentId))?.card?.messageId).toBe(card.ts);
  }, 60_000);

  it('a second sighting joins the incident: no second card, the card shows 2 sightings and the latest place', async () => {
    const secret = demoSecret(keyNamed('prod-chat').id);
    const revisions = card.history.length;
    const out = await reportSecret(t.qm.services, {
      secret,
      kind: 'anthropic_api_key',
      sighting: sighting({ source: 'gitleaks', location: 'acme/web src/app.ts:42', actor: 'mallory' }),
    });
    expect(out).toMatchObject({ created: false, duplicate: false });
    expect(out.incident).toMatchObject({ id: incidentId, sightingCount: 2 });
    expect(inChannel(SEC)).toHaveLength(1);
    expect(card.history.length).toBe(revisions + 1);
    const text = visibleText(card);
    expect(text).toMatch(/Sightings\W+2 \(first/);
    expect(text).toContain('acme/web src/app.ts:42');
    expect(text).toContain('mallory');
  }, 60_000);

  it('a sighting with a known sourceKey changes nothing', async () => {
    const secret = demoSecret(keyNamed('prod-chat').id);
    const before = await t.qm.store.leaks.get(incidentId);
    const revisions = card.history.length;
    const out = await reportSecret(t.qm.services, {
      secret,
      kind: 'anthropic_api_key',
      sighting: sighting({ sourceKey: `github:test:${n}` }),
    });
    expect(out).toMatchObject({ created: false, duplicate: true });
    expect(out.incident.id).toBe(incidentId);
    expect(await t.qm.store.leaks.get(incidentId)).toEqual(before);
    expect(before?.sightingCount).toBe(2);
    expect(await t.qm.store.leaks.sightings(incidentId)).toHaveLength(2);
    expect(card.history.length).toBe(revisions);
    expect(inChannel(SEC)).toHaveLength(1);
  }, 60_000);

  it('a non-approver’s Deactivate is refused: the key stays active, the incident open', async () => {
    const notice = await click('UBOB', card, 'Deactivate');
    expect(notice).toMatch(/not an approver/);
    expect(keyNamed('prod-chat').status).toBe('active');
    expect((await t.qm.store.leaks.get(incidentId))?.status).toBe('open');
  }, 60_000);

  it('Deactivate by an approver sets the key inactive and the card shows it, keeping Archive', async () => {
    await click('UALICE', card, 'Deactivate');
    await waitFor(() => keyNamed('prod-chat').status === 'inactive' || undefined, 10_000);
    const inc = await t.qm.store.leaks.get(incidentId);
    expect(inc).toMatchObject({ status: 'deactivated', autoDeactivated: false });
    expect(inc?.closeReason).toMatch(/^request [0-9A-Z]{8}$/);
    const done = await waitFor(
      () => (/Deactivate done/.test(visibleText(card)) ? visibleText(card) : undefined),
      10_000,
    );
    expect(done).toContain('alice@example.com');
    expect(done).toContain('`inactive`');
    expect(done).toMatch(/Key deactivated by alice@example\.com/);
    expect(Object.keys(t.slack.buttons(card))).toEqual(['Archive', 'False positive']);
    const [request] = await t.qm.store.approvals.list({ statuses: ['done'], limit: 5 });
    expect(request).toMatchObject({ kind: 'key.disable', reason: `leaked key (incident ${incidentId})` });
  }, 60_000);

  let fpCard: FakeSlackMessage;
  it('False positive: refused for a non-approver; an approver closes it and the buttons go', async () => {
    const key = keyNamed('staging-backend');
    const secret = demoSecret(key.id);
    secretsUsed.push(secret);
    const out = await reportSecret(t.qm.services, { secret, kind: 'anthropic_api_key', sighting: sighting() });
    expect(out.created).toBe(true);
    expect(inChannel(SEC)).toHaveLength(2);
    fpCard = inChannel(SEC)[1]!;
    expect(visibleText(fpCard)).toContain('staging-backend');
    expect(await click('UBOB', fpCard, 'False positive')).toMatch(/not an approver/);
    expect((await t.qm.store.leaks.get(out.incident.id))?.status).toBe('open');
    await click('UALICE', fpCard, 'False positive');
    const inc = await t.qm.store.leaks.get(out.incident.id);
    expect(inc).toMatchObject({ status: 'false_positive', closedBy: expect.any(String) });
    await waitFor(() => /Marked a false positive by alice@example\.com/.test(visibleText(fpCard)) || undefined);
    expect(t.slack.buttons(fpCard)).toEqual({});
    expect(key.status).toBe('active');
  }, 60_000);

  it('a key of no one in this organization, and an admin key, are alerted as "no key of this organization"', async () => {
    const other = randomApiKey();
    const admin = randomAdminKey();
    secretsUsed.push(other, admin);
    const a = await reportSecret(t.qm.services, { secret: other, kind: 'anthropic_api_key', sighting: sighting() });
    const b = await reportSecret(t.qm.services, { secret: admin, kind: 'anthropic_admin_key', sighting: sighting() });
    expect(a.incident.apiKeyId).toBeNull();
    expect(b.incident.apiKeyId).toBeNull();
    const [ca, cb] = inChannel(SEC).slice(2);
    expect(visibleText(ca)).toContain('no key of this organization');
    expect(visibleText(ca)).toContain(keyHint(other));
    expect(visibleText(cb)).toContain('no key of this organization');
    expect(visibleText(cb)).toContain('Admin API key');
    expect(Object.keys(t.slack.buttons(ca!))).toEqual(['False positive']);

    // A key made since the last directory sync is found: nothing matched, so the directory was refreshed once.
    const fresh = randomApiKey();
    secretsUsed.push(fresh);
    const made = t.sim.state.addApiKey({ name: 'made-just-now', workspaceId: null, partialKeyHint: keyHint(fresh) });
    const c = await reportSecret(t.qm.services, { secret: fresh, kind: 'anthropic_api_key', sighting: sighting() });
    expect(c.incident).toMatchObject({ apiKeyId: made.id, apiKeyName: 'made-just-now' });
    expect(visibleText(inChannel(SEC).at(-1))).toContain('made-just-now');
  }, 60_000);

  it('four sightings of a new secret at once open one incident with one card, which ends up showing all four', async () => {
    const key = keyNamed('prod-batch');
    const secret = demoSecret(key.id);
    secretsUsed.push(secret);
    const before = inChannel(SEC).length;
    const outs = await Promise.all(
      [1, 2, 3, 4].map(() => reportSecret(t.qm.services, { secret, kind: 'anthropic_api_key', sighting: sighting() })),
    );
    expect(outs.filter((o) => o.created)).toHaveLength(1);
    expect(new Set(outs.map((o) => o.incident.id)).size).toBe(1);
    expect(inChannel(SEC)).toHaveLength(before + 1);
    const alert = inChannel(SEC).at(-1)!;
    expect(visibleText(alert)).toContain('prod-batch');
    await waitFor(() => /Sightings\W+4 \(first/.test(visibleText(alert)) || undefined);
    expect((await t.qm.store.leaks.get(outs[0]!.incident.id))?.sightingCount).toBe(4);
  }, 60_000);

  it('a chat message: the poster is told privately, the message deleted, the alert goes to the security channel', async () => {
    const key = keyNamed('prod-search');
    const secret = demoSecret(key.id);
    secretsUsed.push(secret);
    let deletes = 0;
    const message = {
      platform: 'slack' as const,
      teamId: 'T0QM',
      channelId: CHAT,
      messageId: '1700000000.000100',
      userId: 'UBOB',
      text: `here is the key\nexport KEY=${secret}\nand again ${secret}`,
      permalink: 'https://acme.slack.com/archives/C0CHAT/p1700000000000100',
      edited: false,
    };
    const hooks = {
      deleteMessage: async () => {
        deletes++;
        return true;
      },
    };
    const out = await reportChatMessage(t.qm.services, message, hooks);
    expect(out.secrets).toBe(2);
    expect(out.incidents).toHaveLength(1);
    expect(out.incidents[0]).toMatchObject({ created: true, incident: { apiKeyId: key.id } });
    expect(deletes).toBe(1);
    const dm = inChannel('DUBOB');
    expect(dm).toHaveLength(1);
    const said = visibleText(dm[0]);
    expect(said).toContain(key.partial_key_hint!);
    expect(said).toContain(out.incidents[0]!.incident.id);
    expect(said).toContain('deleted the message');
    const alert = inChannel(SEC).at(-1)!;
    expect(visibleText(alert)).toContain('prod-search');
    expect(visibleText(alert)).toContain('<@UBOB>');
    expect(visibleText(alert)).toContain(`<#${CHAT}>`);
    expect(inChannel(CHAT)).toHaveLength(0);

    // Redelivered (or edited, keeping the secret): nothing new.
    const again = await reportChatMessage(t.qm.services, { ...message, edited: true }, hooks);
    expect(again.incidents[0]?.duplicate).toBe(true);
    expect(deletes).toBe(1);
    expect(inChannel('DUBOB')).toHaveLength(1);

    // Without a way to delete it, the poster is told how.
    const other = await reportChatMessage(t.qm.services, { ...message, messageId: '1700000000.000200' });
    expect(other.incidents[0]).toMatchObject({ created: false, duplicate: false, incident: { sightingCount: 2 } });
    expect(visibleText(inChannel('DUBOB')[1])).toMatch(/Please delete the message now: .*Delete message/);
  }, 60_000);

  it('/qm incidents list and close: admins only; close records the reason and updates the card', async () => {
    const say = async (text: string, user = 'UALICE') => visibleText((await t.slack.command(t.url, text, user)).reply);
    expect(await say('incidents list', 'UBOB')).toMatch(/not allowed|admin|permission/i);
    const open = await say('incidents list');
    expect(open).toContain(incidentId === '' ? 'x' : 'prod-search');
    expect(open).not.toContain(incidentId); // deactivated: not open
    const all = await say('incidents list all');
    expect(all).toContain(incidentId);
    expect(all).toContain('deactivated');

    const closed = await say(`incidents close ${incidentId.toLowerCase()} "rotated <everywhere>"`);
    expect(closed).toContain(incidentId);
    const inc = await t.qm.store.leaks.get(incidentId);
    expect(inc).toMatchObject({ status: 'closed', closeReason: 'rotated <everywhere>' });
    await waitFor(() => /Closed by alice@example\.com/.test(visibleText(card)) || undefined);
    expect(visibleText(card)).toContain('rotated &lt;everywhere&gt;');
    expect(t.slack.buttons(card)).toEqual({});
    expect(await say(`incidents close ${incidentId} again`)).toMatch(/already closed/);
    expect(await say('incidents close ZZZZZZZZ nope')).toMatch(/no incident/i);
  }, 60_000);

  it('the digest of the day lists the incidents first seen that day', async () => {
    const day = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const sent = await sendDigestNow(t.qm.services, { platform: 'slack', teamId: 'T0QM', channelId: 'C0DIGEST', day });
    const digest = visibleText(t.slack.messages.get(sent.messageId));
    expect(digest).toContain('Leaked secrets');
    expect(digest).toContain(incidentId);
    expect(digest).toContain(keyNamed('prod-chat').partial_key_hint!);
  }, 60_000);

  it('nothing logged, posted or stored holds a secret or anything key-shaped', async () => {
    const posted = [
      ...[...t.slack.messages.values()].flatMap((m) => [JSON.stringify(m)]),
      ...t.slack.responses.map((r) => JSON.stringify(r.body)),
      ...t.slack.calls.map((c) => JSON.stringify(c.args)),
    ];
    const stored: string[] = [];
    for (const table of ['LeakIncident', 'LeakSighting', 'WebhookDelivery', 'ServerSecret', 'AuditEvent']) {
      const r = await querySql(t.qm.config.DATABASE_URL, `SELECT * FROM "${table}"`);
      stored.push(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    }
    const everything = [...t.logs, ...posted, ...stored];
    expect(t.logs.length).toBeGreaterThan(10);
    expect(stored.join('').length).toBeGreaterThan(500);
    expect(secretsUsed.length).toBeGreaterThanOrEqual(5);
    for (const text of everything) {
      for (const s of secretsUsed) expect(text.includes(s)).toBe(false);
      expect(text).not.toMatch(KEY_SHAPED);
    }
  }, 60_000);
});

describe('leak incidents with leaks.auto_deactivate and no leak channel', () => {
  beforeAll(async () => {
    t = await startTestApp({ policy: ['version: 1', 'leaks:', '  auto_deactivate: true', ''].join('\n') });
    await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('sets the key inactive at once, says so, and alerts in the channel where it was seen', async () => {
    const key = keyNamed('prod-worker');
    const secret = demoSecret(key.id);
    const out = await reportChatMessage(t.qm.services, {
      platform: 'slack',
      teamId: 'T0QM',
      channelId: CHAT,
      messageId: '1700000000.000300',
      userId: 'UBOB',
      text: secret,
      permalink: null,
      edited: false,
    });
    expect(out.incidents[0]?.incident).toMatchObject({
      status: 'deactivated',
      autoDeactivated: true,
      closedBy: 'policy',
    });
    expect(key.status).toBe('inactive');
    const [alert] = inChannel(CHAT);
    const text = visibleText(alert);
    expect(text).toContain('prod-worker');
    expect(text).toMatch(/set inactive at once by policy/);
    expect(text).toContain('`inactive`');
    expect(Object.keys(t.slack.buttons(alert!))).toEqual(['Archive', 'False positive']);
    expect(visibleText(inChannel('DUBOB')[0])).toMatch(/set inactive at once/);
    expect(visibleText(inChannel('DUBOB')[0])).toMatch(/Please delete the message now/);

    // Archive by an approver archives the key.
    await click('UALICE', alert!, 'Archive');
    await waitFor(() => key.status === 'archived' || undefined, 10_000);
    expect((await t.qm.store.leaks.get(out.incidents[0]!.incident.id))?.status).toBe('archived');
    await waitFor(() => /Archive done/.test(visibleText(alert)) || undefined, 10_000);
    expect(t.slack.buttons(alert!)).toEqual({});
    for (const text of [...t.logs, ...[...t.slack.messages.values()].map((m) => JSON.stringify(m))]) {
      expect(text.includes(secret)).toBe(false);
      expect(text).not.toMatch(KEY_SHAPED);
    }
  }, 60_000);

  it('a fake rebuilt from a key’s public hint is checked with the API, and does not switch the key off', async () => {
    const key = keyNamed('staging-backend');
    expect(key.status).toBe('active');
    // Anyone who can list keys sees the hint (first 16 and last 4 characters): the middle is made up.
    const [head, tail] = key.partial_key_hint!.split('...') as [string, string];
    const fake = `${head}${randomBytes(80).toString('base64url').slice(0, 88)}${tail}`;
    const before = t.sim.requests.length;
    const out = await reportChatMessage(t.qm.services, {
      platform: 'slack',
      teamId: 'T0QM',
      channelId: CHAT,
      messageId: '1700000000.000400',
      userId: 'UBOB',
      text: `totally the staging key: ${fake}`,
      permalink: null,
      edited: false,
    });
    // The Models API was asked with the secret itself, and refused it.
    const asked = t.sim.requests.slice(before).filter((r) => r.path === '/v1/models');
    expect(asked.map((r) => r.status)).toEqual([401]);
    expect(out.incidents[0]?.incident).toMatchObject({ status: 'open', autoDeactivated: false, apiKeyId: key.id });
    expect(key.status).toBe('active');
    const alert = inChannel(CHAT).find((m) => visibleText(m).includes(out.incidents[0]!.incident.id))!;
    expect(visibleText(alert)).toMatch(/does \*?\*?not\*?\*? work/);
    expect(visibleText(alert)).not.toMatch(/set inactive at once/);
    // Approvers can still act: the buttons are there.
    expect(Object.keys(t.slack.buttons(alert))).toContain('Deactivate');
    for (const text of [...t.logs, ...[...t.slack.messages.values()].map((m) => JSON.stringify(m))])
      expect(text.includes(fake)).toBe(false);
  }, 60_000);
});

describe('leak incidents when key.disable needs two approvals', () => {
  beforeAll(async () => {
    t = await startTestApp({
      policy: [
        'version: 1',
        'defaults:',
        '  approvers: { roles: [admin, billing] }',
        'kinds:',
        '  key.disable: { quorum: 2 }',
        'leaks:',
        `  channels: { slack: ${SEC} }`,
        '',
      ].join('\n'),
    });
    await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
    await linkChatUser(t, 'slack', 'T0QM', 'UCAROL', 'carol@example.com');
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('Deactivate files the request with the first approval; the alert card becomes its card, where the second decides', async () => {
    const key = keyNamed('prod-canary');
    const out = await reportSecret(t.qm.services, {
      secret: demoSecret(key.id),
      kind: 'anthropic_api_key',
      sighting: sighting(),
    });
    const [alert] = inChannel(SEC);
    expect(visibleText(alert)).toContain('prod-canary');
    await click('UALICE', alert!, 'Deactivate');
    const pending = await waitFor(() =>
      /Approve/.test(JSON.stringify(alert!.blocks)) ? visibleText(alert) : undefined,
    );
    expect(pending).toContain(`incident \`${out.incident.id}\``);
    expect(pending).toContain('prod-canary');
    expect(key.status).toBe('active');
    expect((await t.qm.store.leaks.get(out.incident.id))?.status).toBe('open');

    await click('UCAROL', alert!, 'Approve');
    await waitFor(() => key.status === 'inactive' || undefined, 10_000);
    await waitFor(() => (/Done/.test(visibleText(alert)) ? true : undefined), 10_000);
    // The incident stays open until an admin closes it (the request's card shows what was done).
    expect((await t.qm.store.leaks.get(out.incident.id))?.status).toBe('open');
  }, 60_000);
});
