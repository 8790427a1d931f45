/**
 * The leak intake webhooks end to end (issue 11 item 4), on the real app (startTestApp: Bolt against the fake Slack,
 * the simulator, a fresh database) over plain HTTP:
 *  - `POST /webhooks/github`: GitHub's `secret_scanning_alert` and `secret_scanning_alert_location` payloads as
 *    GitHub sends them (the webhook alert has no `secret` field), signed with X-Hub-Signature-256; ping; missing,
 *    wrong and foreign signatures refused with nothing recorded; a redelivery changes nothing; other secret types
 *    and actions acknowledged and ignored;
 *  - `POST /webhooks/leaks`: a gitleaks JSON report and trufflehog JSON lines with a key of the simulated
 *    organization: one incident naming that key, a card in the policy's leak channel, further reports join it,
 *    a report sent twice changes nothing; bearer token checked; size cap; malformed reports;
 *  - both answer 404 on an app where they are not configured;
 *  - nothing key-shaped (nor the webhook secrets) in the logs, the answers, what the fake Slack received or the
 *    leak tables.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHint } from '../../src/core/leaks/detect.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { querySql } from '../support/sql.js';

const GH_SECRET = 'gh-webhook-secret-7f3a9c1e5b2d4860';
const LEAK_TOKEN = 'leak-webhook-token-2c8e4a6b0d1f3957';
const SEC = 'C0SECURITY';
/** Shaped like real keys (not real ones): one of the organization's (its hint is registered in the simulator)… */
const ORG_KEY = `sk-ant-api03-${'Wb7-kQ2_'.repeat(12).slice(0, 93)}AA`;
/** …another of the organization's, in a REST-shaped alert that carries its secret… */
const FORWARDED_KEY = `sk-ant-api03-${'Hn5_sV0c'.repeat(12).slice(0, 93)}AA`;
/** …and one that is no key of the organization. */
const STRANGER_KEY = `sk-ant-api03-${'Zt4pL9xR'.repeat(12).slice(0, 93)}AA`;
const AWS_KEY = 'AKIAIOSFODNN7EXAMPL3';
const KEY_SHAPES = [/sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA/, /sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}/];

let t: TestApp;
/** Every answer body the webhooks gave, to check none repeats a secret. */
const answers: string[] = [];

const secCards = (): FakeSlackMessage[] => [...t.slack.messages.values()].filter((m) => m.channel === SEC);

function sign(body: string, secret = GH_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function postGithub(
  event: string,
  payload: unknown,
  o: { delivery?: string; signature?: string | null; body?: string } = {},
): Promise<{ status: number; body: any; delivery: string }> {
  const body = o.body ?? JSON.stringify(payload);
  const delivery = o.delivery ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/7e2a1f3',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-github-hook-id': '498234113',
    'x-github-hook-installation-target-type': 'organization',
    'x-github-hook-installation-target-id': '77001234',
    // The legacy SHA-1 header GitHub sends too: never enough on its own.
    'x-hub-signature': `sha1=${createHmac('sha1', GH_SECRET).update(body).digest('hex')}`,
  };
  const signature = o.signature === undefined ? sign(body) : o.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const res = await fetch(`${t.url}/webhooks/github`, { method: 'POST', headers, body });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : null, delivery };
}

async function postLeaks(
  body: string,
  auth: string | null = `Bearer ${LEAK_TOKEN}`,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}/webhooks/leaks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
    body,
  });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// ---- payloads as GitHub sends them (docs.github.com webhook-events-and-payloads#secret_scanning_alert)

const user = (login: string, id: number) => ({
  login,
  id,
  node_id: `MDQ6VXNlcj${id}`,
  avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
  url: `https://api.github.com/users/${login}`,
  html_url: `https://github.com/${login}`,
  type: 'User',
  site_admin: false,
});

const repository = {
  id: 708123456,
  node_id: 'R_kgDOKjVxQA',
  name: 'webapp',
  full_name: 'acme/webapp',
  private: true,
  owner: { ...user('acme', 77001234), type: 'Organization' },
  html_url: 'https://github.com/acme/webapp',
  description: 'The web app',
  fork: false,
  url: 'https://api.github.com/repos/acme/webapp',
  default_branch: 'main',
  visibility: 'private',
};

function alertEvent(action: string, number: number, o: { secretType?: string; extra?: object } = {}) {
  const secretType = o.secretType ?? 'anthropic_api_key';
  return {
    action,
    alert: {
      number,
      created_at: '2026-11-26T08:59:41Z',
      updated_at: '2026-11-26T08:59:41Z',
      url: `https://api.github.com/repos/acme/webapp/secret-scanning/alerts/${number}`,
      html_url: `https://github.com/acme/webapp/security/secret-scanning/${number}`,
      locations_url: `https://api.github.com/repos/acme/webapp/secret-scanning/alerts/${number}/locations`,
      resolution: null,
      resolved_at: null,
      resolved_by: null,
      resolution_comment: null,
      secret_type: secretType,
      secret_type_display_name: secretType === 'anthropic_api_key' ? 'Anthropic API Key' : secretType,
      validity: 'active',
      push_protection_bypassed: true,
      push_protection_bypassed_by: user('mallory', 5550101),
      push_protection_bypassed_at: '2026-11-26T08:59:40Z',
      push_protection_bypass_request_reviewer: null,
      push_protection_bypass_request_reviewer_comment: null,
      push_protection_bypass_request_comment: null,
      push_protection_bypass_request_html_url: null,
      publicly_leaked: false,
      multi_repo: false,
      assigned_to: null,
      ...o.extra,
    },
    repository,
    organization: { login: 'acme', id: 77001234, node_id: 'O_kgDOBJb3Mg', url: 'https://api.github.com/orgs/acme' },
    sender: user('mallory', 5550101),
  };
}

function locationEvent(number: number, path: string, line: number) {
  const { action: _, ...rest } = alertEvent('created', number);
  return {
    action: 'created',
    ...rest,
    location: {
      type: 'commit',
      details: {
        path,
        start_line: line,
        end_line: line,
        start_column: 19,
        end_column: 127,
        blob_sha: 'af5626b4a114abcb82d63db7c8082c3c4756e51b',
        blob_url: 'https://api.github.com/repos/acme/webapp/git/blobs/af5626b4a114abcb82d63db7c8082c3c4756e51b',
        commit_sha: '3f1c0e2d9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2',
        commit_url: 'https://api.github.com/repos/acme/webapp/git/commits/3f1c0e2d9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2',
      },
    },
  };
}

// ---- reports as the tools write them

function gitleaksFinding(secret: string, o: { file: string; line: number; rule?: string; commit?: string }) {
  const ruleId = o.rule ?? 'anthropic-api-key';
  return {
    RuleID: ruleId,
    Description:
      'Identified an Anthropic API Key, which may compromise AI assistant integrations and expose sensitive data to unauthorized access.',
    StartLine: o.line,
    EndLine: o.line,
    StartColumn: 19,
    EndColumn: 18 + secret.length,
    Match: `ANTHROPIC_API_KEY=${secret}`,
    Secret: secret,
    File: o.file,
    SymlinkFile: '',
    Commit: o.commit ?? '9a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
    Link: `https://github.com/acme/webapp/blob/${o.commit ?? '9a1b2c3d4e5f60718293a4b5c6d7e8f901234567'}/${o.file}#L${o.line}`,
    Entropy: 5.61,
    Author: 'Mallory Dev',
    Email: 'mallory@example.com',
    Date: '2026-11-25T17:02:11Z',
    Message: 'add deploy config',
    Tags: [],
    Fingerprint: `${o.commit ?? '9a1b2c3d4e5f60718293a4b5c6d7e8f901234567'}:${o.file}:${ruleId}:${o.line}`,
  };
}

function trufflehogResult(secret: string, o: { file: string; line: number; detector?: string }) {
  return {
    SourceMetadata: {
      Data: {
        Git: {
          commit: 'c0ffee1234567890abcdef1234567890abcdef12',
          file: o.file,
          email: 'Mallory Dev <mallory@example.com>',
          repository: 'https://github.com/acme/webapp.git',
          timestamp: '2026-11-25 17:02:11 +0000',
          line: o.line,
        },
      },
    },
    SourceID: 1,
    SourceType: 16,
    SourceName: 'trufflehog - git',
    DetectorType: 1007,
    DetectorName: o.detector ?? 'Anthropic',
    DetectorDescription: 'Anthropic is an AI research company. The API keys can be used to access their AI models.',
    DecoderName: 'PLAIN',
    Verified: false,
    VerificationFromCache: false,
    Raw: secret,
    RawV2: '',
    Redacted: '',
    ExtraData: null,
    StructuredData: null,
  };
}

beforeAll(async () => {
  t = await startTestApp({
    env: { GITHUB_WEBHOOK_SECRET: GH_SECRET, LEAK_WEBHOOK_TOKEN: LEAK_TOKEN },
    policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n'),
  });
  // The organization's key whose secret leaks (created after the start: the first report refreshes the directory).
  t.sim.state.addApiKey({
    name: 'ci-deploy',
    workspaceId: t.sim.state.workspaces.find((w) => w.name !== 'Default')?.id ?? null,
    partialKeyHint: keyHint(ORG_KEY),
  });
  t.sim.state.addApiKey({ name: 'nightly-evals', workspaceId: null, partialKeyHint: keyHint(FORWARDED_KEY) });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('POST /webhooks/github', () => {
  it('answers ping, signed; an unsigned ping is refused', async () => {
    const hook = {
      zen: 'Design for failure.',
      hook_id: 498234113,
      hook: { type: 'Organization', events: ['secret_scanning_alert'] },
    };
    const ok = await postGithub('ping', hook);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, message: 'pong' });
    expect((await postGithub('ping', hook, { signature: null })).status).toBe(401);
  });

  it('refuses a missing, wrong, foreign-secret or malformed signature, and records nothing', async () => {
    const payload = alertEvent('created', 41);
    const body = JSON.stringify(payload);
    const refused = [
      await postGithub('secret_scanning_alert', payload, { signature: null }),
      await postGithub('secret_scanning_alert', payload, { signature: sign(body, 'another-secret') }),
      await postGithub('secret_scanning_alert', payload, { signature: sign(`${body} `) }),
      await postGithub('secret_scanning_alert', payload, { signature: sign(body).replace('sha256=', 'sha1=') }),
      await postGithub('secret_scanning_alert', payload, { signature: sign(body).toUpperCase() }),
      await postGithub('secret_scanning_alert', payload, { signature: sign(body).slice(0, -1) }),
    ];
    for (const r of refused) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_signature');
    }
    // The same body, correctly signed but tampered with after signing, is refused too.
    const tampered = await postGithub('secret_scanning_alert', null, {
      body: body.replace('"number":41', '"number":42'),
      signature: sign(body),
    });
    expect(tampered.status).toBe(401);
    expect((await t.qm.store.leaks.list({ limit: 10 })).total).toBe(0);
    expect(secCards()).toHaveLength(0);
  });

  it('a new Anthropic alert opens one incident and posts a card, saying the key is unknown', async () => {
    const r = await postGithub('secret_scanning_alert', alertEvent('created', 7));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ created: true, duplicate: false, keyKnown: false });
    const incident = (await t.qm.store.leaks.get(r.body.incident))!;
    expect(incident).toMatchObject({
      kind: 'anthropic_api_key',
      hint: 'GitHub alert #7',
      apiKeyId: null,
      status: 'open',
    });
    const sightings = await t.qm.store.leaks.sightings(incident.id);
    expect(sightings).toEqual([
      expect.objectContaining({
        source: 'github',
        sourceKey: 'github:acme/webapp#7',
        location: 'acme/webapp',
        url: 'https://github.com/acme/webapp/security/secret-scanning/7',
        actor: 'mallory',
      }),
    ]);
    const card = await waitFor(() => secCards()[0]);
    const text = visibleText(card);
    expect(text).toContain('Leaked Anthropic API key');
    expect(text).toContain('GitHub alert #7');
    expect(text).toContain('acme/webapp');
    expect(text).toContain('mallory');
    expect(text).not.toContain('no key of this organization');
    expect(text).toContain('https://github.com/acme/webapp/security/secret-scanning/7');
    expect(text).toContain('GitHub does not send the secret');
    expect(t.slack.buttons(card)).toHaveProperty('False positive');
    expect(t.slack.buttons(card)).not.toHaveProperty('Deactivate');
    expect(text).toContain(incident.id);
    expect((await t.qm.store.leaks.get(incident.id))!.card).toMatchObject({ platform: 'slack', channelId: SEC });
  });

  it("takes the form-encoded content type too (GitHub's default), signed over the form body", async () => {
    const form = new URLSearchParams({ payload: JSON.stringify(alertEvent('created', 12)) }).toString();
    const res = await fetch(`${t.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'secret_scanning_alert',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(form),
      },
      body: form,
    });
    const text = await res.text();
    answers.push(text);
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ created: true });
    const sightings = await t.qm.store.leaks.sightings(JSON.parse(text).incident);
    expect(sightings[0]).toMatchObject({ sourceKey: 'github:acme/webapp#12' });
  });

  it('a redelivery (same X-GitHub-Delivery) is answered and changes nothing', async () => {
    const first = await postGithub('secret_scanning_alert', alertEvent('created', 8));
    expect(first.body.created).toBe(true);
    const cards = await waitFor(() => (secCards().length === 3 ? 3 : undefined));
    const again = await postGithub('secret_scanning_alert', alertEvent('created', 8), { delivery: first.delivery });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ incident: first.body.incident, created: false, duplicate: true });
    const incident = (await t.qm.store.leaks.get(first.body.incident))!;
    expect(incident.sightingCount).toBe(1);
    expect(await t.qm.store.leaks.sightings(incident.id)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(secCards()).toHaveLength(cards);
  });

  it('a new location, a reopening and a public leak of the same alert join its incident and update its card', async () => {
    const cards = secCards().length;
    const opened = await postGithub('secret_scanning_alert', alertEvent('created', 9));
    const card = await waitFor(() => secCards()[cards]);
    expect(visibleText(card)).toContain('GitHub alert #9');
    const loc = await postGithub('secret_scanning_alert_location', locationEvent(9, 'deploy/.env.production', 3));
    expect(loc.status).toBe(200);
    expect(loc.body).toMatchObject({ incident: opened.body.incident, created: false, duplicate: false });
    const reopened = await postGithub('secret_scanning_alert', alertEvent('reopened', 9));
    const leaked = await postGithub(
      'secret_scanning_alert',
      alertEvent('publicly_leaked', 9, { extra: { publicly_leaked: true } }),
    );
    for (const r of [reopened, leaked])
      expect(r.body).toMatchObject({ incident: opened.body.incident, created: false });
    const incident = (await t.qm.store.leaks.get(opened.body.incident))!;
    expect(incident.sightingCount).toBe(4);
    const places = (await t.qm.store.leaks.sightings(incident.id)).map((s) => s.location);
    expect(places).toContain('acme/webapp deploy/.env.production:3 (3f1c0e2)');
    // The one card, edited in place: four sightings, the latest place.
    const updated = await waitFor(() =>
      /Sightings:?\*?\*?\s*4 /.test(visibleText(card)) ? visibleText(card) : undefined,
    );
    expect(updated).toContain('acme/webapp (found in public)');
    expect(secCards()).toHaveLength(cards + 1);
  });

  it('an alert that does carry its secret (a REST alert forwarded as is) is matched to its key', async () => {
    const cards = secCards().length;
    const r = await postGithub(
      'secret_scanning_alert',
      alertEvent('created', 30, { extra: { secret: FORWARDED_KEY } }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ created: true, keyKnown: true });
    const incident = (await t.qm.store.leaks.get(r.body.incident))!;
    expect(incident).toMatchObject({ hint: keyHint(FORWARDED_KEY), apiKeyName: 'nightly-evals' });
    expect(incident.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(visibleText(await waitFor(() => secCards()[cards]))).toContain('nightly-evals');
  });

  it('acknowledges and ignores other secret types, session ids, resolutions, validations and other events', async () => {
    const before = (await t.qm.store.leaks.list({ limit: 50 })).total;
    const ignored = [
      await postGithub(
        'secret_scanning_alert',
        alertEvent('created', 20, { secretType: 'github_personal_access_token' }),
      ),
      await postGithub('secret_scanning_alert', alertEvent('created', 21, { secretType: 'openai_api_key' })),
      await postGithub('secret_scanning_alert', alertEvent('created', 22, { secretType: 'anthropic_session_id' })),
      await postGithub('secret_scanning_alert', alertEvent('resolved', 7, { extra: { resolution: 'revoked' } })),
      await postGithub('secret_scanning_alert', alertEvent('validated', 7, { extra: { validity: 'inactive' } })),
      await postGithub('push', { ref: 'refs/heads/main', repository }),
    ];
    for (const r of ignored) {
      expect(r.status).toBe(200);
      expect(r.body.ignored).toBeTruthy();
      expect(r.body.incident).toBeUndefined();
    }
    expect(ignored[0]!.body).toMatchObject({ secret_type: 'github_personal_access_token' });
    expect((await t.qm.store.leaks.list({ limit: 50 })).total).toBe(before);
    expect(await t.qm.store.leaks.get((await postGithub('ping', {})).body.incident ?? 'none')).toBeNull();
  });

  it('refuses a signed alert without the fields it needs, and a delivery without its id', async () => {
    const bad = await postGithub('secret_scanning_alert', {
      action: 'created',
      alert: { secret_type: 'anthropic_api_key' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('alert.number');
    const noId = await fetch(`${t.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'ping', 'x-hub-signature-256': sign('{}') },
      body: '{}',
    });
    expect(noId.status).toBe(400);
  });
});

describe('POST /webhooks/leaks', () => {
  let incidentId = '';

  it('refuses a missing or wrong bearer token, and records nothing', async () => {
    const report = JSON.stringify([gitleaksFinding(ORG_KEY, { file: 'deploy/.env', line: 4 })]);
    for (const auth of [null, `Bearer ${LEAK_TOKEN}x`, `Basic ${LEAK_TOKEN}`, LEAK_TOKEN, `Bearer ${GH_SECRET}`]) {
      const r = await postLeaks(report, auth);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('unauthorized');
    }
    const all = await t.qm.store.leaks.list({ limit: 50 });
    expect(all.incidents.filter((i) => i.hint === keyHint(ORG_KEY))).toHaveLength(0);
  });

  it('a gitleaks report: the Anthropic finding opens an incident naming the key, the rest is counted and ignored', async () => {
    const cards = secCards().length;
    const report = [
      gitleaksFinding(ORG_KEY, { file: 'deploy/.env', line: 4 }),
      gitleaksFinding(AWS_KEY, { file: 'deploy/aws.env', line: 2, rule: 'aws-access-token' }),
    ];
    const r = await postLeaks(JSON.stringify(report, null, 1));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ received: 2, anthropic: 1, ignored: 1, created: 1, duplicates: 0 });
    expect(r.body.incidents).toHaveLength(1);
    incidentId = r.body.incidents[0];
    const incident = (await t.qm.store.leaks.get(incidentId))!;
    expect(incident).toMatchObject({ hint: keyHint(ORG_KEY), kind: 'anthropic_api_key', apiKeyName: 'ci-deploy' });
    const [sighting] = await t.qm.store.leaks.sightings(incidentId);
    expect(sighting).toMatchObject({
      source: 'gitleaks',
      location: 'deploy/.env:4 (9a1b2c3)',
      url: 'https://github.com/acme/webapp/blob/9a1b2c3d4e5f60718293a4b5c6d7e8f901234567/deploy/.env#L4',
      actor: 'mallory@example.com',
    });
    const card = await waitFor(() => secCards()[cards]);
    expect(visibleText(card)).toContain('ci-deploy');
  });

  it('trufflehog JSON lines with the same key elsewhere join the incident; a report sent twice changes nothing', async () => {
    const cards = secCards().length;
    const lines = [
      trufflehogResult(ORG_KEY, { file: 'scripts/smoke.sh', line: 12 }),
      trufflehogResult('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', { file: 'ci.yml', line: 3, detector: 'Github' }),
    ]
      .map((x) => JSON.stringify(x))
      .join('\n');
    const r = await postLeaks(`${lines}\n`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      received: 2,
      anthropic: 1,
      ignored: 1,
      created: 0,
      duplicates: 0,
      incidents: [incidentId],
    });
    const sightings = await t.qm.store.leaks.sightings(incidentId);
    expect(sightings.map((s) => s.location)).toContain('acme/webapp scripts/smoke.sh:12 (c0ffee1)');
    expect((await t.qm.store.leaks.get(incidentId))!.sightingCount).toBe(2);

    const again = await postLeaks(`${lines}\n`);
    expect(again.body).toMatchObject({ anthropic: 1, created: 0, duplicates: 1, incidents: [incidentId] });
    expect((await t.qm.store.leaks.get(incidentId))!.sightingCount).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(secCards().length).toBeLessThanOrEqual(cards + 1); // at most the joined incident's card, updated in place
  });

  it('a key of no one in the organization still opens its own incident', async () => {
    const r = await postLeaks(
      JSON.stringify([gitleaksFinding(STRANGER_KEY, { file: 'notebooks/demo.ipynb', line: 88 })]),
    );
    expect(r.body).toMatchObject({ anthropic: 1, created: 1 });
    expect(r.body.incidents[0]).not.toBe(incidentId);
    expect((await t.qm.store.leaks.get(r.body.incidents[0]))!).toMatchObject({
      hint: keyHint(STRANGER_KEY),
      apiKeyId: null,
    });
  });

  it('a redacted gitleaks finding is counted as such, not as a key', async () => {
    const redacted = {
      ...gitleaksFinding(ORG_KEY, { file: 'a.env', line: 1 }),
      Secret: 'REDACTED',
      Match: 'ANTHROPIC_API_KEY=REDACTED',
    };
    const r = await postLeaks(JSON.stringify([redacted]));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ received: 1, anthropic: 0, redacted: 1, incidents: [] });
    expect(r.body.note).toContain('--redact');
  });

  it('refuses malformed reports without quoting them, and bodies over the cap', async () => {
    const broken = await postLeaks(`[${JSON.stringify(gitleaksFinding(ORG_KEY, { file: 'x', line: 1 }))}`);
    expect(broken.status).toBe(400);
    const neither = await postLeaks(JSON.stringify([{ path: 'x', secret: ORG_KEY }]));
    expect(neither.status).toBe(400);
    expect(neither.body.message).toContain('neither a gitleaks finding');
    expect((await postLeaks('')).status).toBe(400);
    const big = await postLeaks(`[${' '.repeat(5_000_001)}]`);
    expect(big.status).toBe(413);
  });
});

describe('not configured', () => {
  it('answers 404 on both webhooks, signed or not', async () => {
    const bare = await startTestApp();
    try {
      const body = JSON.stringify(alertEvent('created', 1));
      const gh = await fetch(`${bare.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'x-github-event': 'secret_scanning_alert',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': sign(body),
        },
        body,
      });
      expect(gh.status).toBe(404);
      const leaks = await fetch(`${bare.url}/webhooks/leaks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${LEAK_TOKEN}` },
        body: JSON.stringify([gitleaksFinding(ORG_KEY, { file: 'x', line: 1 })]),
      });
      expect(leaks.status).toBe(404);
      expect((await bare.qm.store.leaks.list({ limit: 10 })).total).toBe(0);
    } finally {
      await bare.close();
    }
  }, 60_000);
});

describe('never repeated', () => {
  it('no key, token or webhook secret in the logs, the answers, what Slack received or the leak tables', async () => {
    // The tests above ran: there is something to look at.
    expect(answers.length).toBeGreaterThan(20);
    expect(secCards().length).toBeGreaterThanOrEqual(3);
    const url = t.qm.config.DATABASE_URL;
    const rows = [
      ...(await querySql(url, 'SELECT * FROM "LeakIncident"')),
      ...(await querySql(url, 'SELECT * FROM "LeakSighting"')),
      ...(await querySql(url, 'SELECT * FROM "WebhookDelivery"')),
    ];
    expect(rows.length).toBeGreaterThan(5);
    const places = {
      logs: t.logs.join('\n'),
      answers: answers.join('\n'),
      slack: JSON.stringify(t.slack.calls),
      database: JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    };
    for (const [where, text] of Object.entries(places)) {
      for (const secret of [ORG_KEY, FORWARDED_KEY, STRANGER_KEY, AWS_KEY, GH_SECRET, LEAK_TOKEN]) {
        expect(text.includes(secret), `${where} holds a secret`).toBe(false);
      }
      for (const shape of KEY_SHAPES) expect(text, `${where} holds something key-shaped`).not.toMatch(shape);
    }
  });
});
