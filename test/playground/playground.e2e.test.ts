/**
 * The playground end to end over HTTP, against the real process wiring (startQuartermaster with the built-in
 * simulated organization, no admin key): commands typed as simulated members, button clicks, and what every open
 * page sees on the event stream. With an admin key, `/` is the status page and the playground routes do not exist.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Quartermaster, startQuartermaster } from '../../src/main.js';
import { markupToHtml } from '../../src/playground/render.js';
import { waitFor } from '../fakes/slack.js';
import { startTestApp, writePolicy } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  quorum: 2
  expires_after: 24h
`;

interface Msg {
  id: string;
  where: 'channel' | 'ephemeral' | 'dm';
  to: string | null;
  tone: string;
  summary: string;
  html: string;
  version: number;
}

/** An open page's view: every message by id, as the event stream last said. */
class Stream {
  readonly messages = new Map<string, Msg>();
  readonly events: Msg[] = [];
  private readonly abort = new AbortController();
  async open(url: string): Promise<void> {
    const res = await fetch(`${url}/playground/events`, { signal: this.abort.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += value;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = chunk
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) {
            const m = JSON.parse(data) as Msg;
            this.messages.set(m.id, m);
            this.events.push(m);
          }
          i = buf.indexOf('\n\n');
        }
      }
    })();
  }
  close(): void {
    this.abort.abort();
  }
  find(pred: (m: Msg) => boolean): Msg | undefined {
    return [...this.messages.values()].find(pred);
  }
}

let qm: Quartermaster;
let drop: () => Promise<void>;
const stream = new Stream();
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${qm.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const command = (member: string, t: string) => post('/playground/command', { member, text: t });
/** The newest message for `member` only ("only you"), after `after` messages had arrived. */
const ephemeralFor = (member: string, after: number) =>
  waitFor(() => stream.events.slice(after).find((m) => m.where === 'ephemeral' && m.to === member));
const buttons = (m: Msg) =>
  Object.fromEntries(
    [...m.html.matchAll(/<button[^>]*data-action="([^"]+)"[^>]*>([^<]+)<\/button>/g)].map((b) => [b[2], b[1]]),
  );

beforeAll(async () => {
  const db = await createTestDatabaseUrl();
  drop = db.drop;
  const lines: string[] = [];
  qm = await startQuartermaster({
    env: { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', QM_POLICY: writePolicy(POLICY) },
    print: (l) => lines.push(l),
    skipMigrate: true,
    scheduler: false,
    approvalBackoffMs: () => 100,
    logDestination: { write: () => true } as never,
  });
  expect(qm.simulator).not.toBeNull();
  expect(lines).toContain(
    `Playground: ${qm.url}/ (try every /qm command and approval in a browser, as any member of the simulated organization).`,
  );
  await stream.open(qm.url);
});
afterAll(async () => {
  stream.close();
  await qm?.close();
  await drop?.();
});

describe('playground', () => {
  it('serves the page at / with the member picker', async () => {
    const res = await fetch(`${qm.url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<select id="member">');
    expect(html).toContain('Bob (developer: files requests)');
    expect(html).toContain("new EventSource('/playground/events')");
  });

  it('answers /qm help as Slack does, only to the member who typed it, did-you-mean included', async () => {
    let n = stream.events.length;
    expect((await command('UDAVE', '/qm help')).body.outcome).toBe('allowed');
    const help = await ephemeralFor('UDAVE', n);
    expect(text(help.html)).toContain('/qm whoami');
    expect(text(help.html)).toContain('You act as dave@example.com');
    n = stream.events.length;
    await command('UDAVE', '/qm kyes list');
    const typo = await ephemeralFor('UDAVE', n);
    expect(typo.tone).toBe('error');
    expect(text(typo.html)).toMatch(/did you mean.*keys/i);
  });

  it('files a key request as Bob, refuses his own approval, and two approvers take the card to done', async () => {
    const n = stream.events.length;
    const res = await command('UBOB', '/qm keys request prod bob-playground "<script>alert(1)</script> trying it" 30d');
    expect(res.body.outcome).toBe('allowed');
    const card = await waitFor(() =>
      stream.events.slice(n).find((m) => m.where === 'channel' && m.summary.includes('bob-playground')),
    );
    // The reason is Bob's text: shown, never markup.
    expect(card.html).not.toContain('<script>');
    expect(card.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const { Approve } = buttons(card);
    expect(Approve).toBeTruthy();
    const id = /Request (\w+)/.exec(card.summary)![1]!;

    let k = stream.events.length;
    await post('/playground/click', { member: 'UBOB', actionId: Approve, messageId: card.id });
    const refused = await ephemeralFor('UBOB', k);
    expect(text(refused.html)).toMatch(/your own request/i);
    expect((await qm.store.approvals.get(id))!.status).toBe('pending');

    await post('/playground/click', { member: 'UALICE', actionId: Approve, messageId: card.id });
    const oneVote = await waitFor(() => {
      const m = stream.messages.get(card.id)!;
      return m.version > card.version && text(m.html).includes('(1/2)') ? m : undefined;
    });
    expect(buttons(oneVote).Approve).toBeTruthy();
    expect((await qm.store.approvals.get(id))!.status).toBe('pending');

    k = stream.events.length;
    await post('/playground/click', { member: 'UCAROL', actionId: buttons(oneVote).Approve, messageId: card.id });
    const done = await waitFor(() => {
      const m = stream.messages.get(card.id)!;
      return text(m.html).includes('Done:') ? m : undefined;
    }, 10_000);
    expect(done.tone).toBe('success');
    expect(buttons(done)).toEqual({});
    expect((await qm.store.approvals.get(id))!.status).toBe('done');
    // Bob hears about it in his DMs.
    await waitFor(() => stream.find((m) => m.where === 'dm' && m.to === 'UBOB' && m.summary.includes('Done')));

    const { entries } = await qm.store.audit.list({ limit: 50 });
    const mine = entries.filter((e) => e.platform === 'playground');
    expect(mine.some((e) => e.action === 'keys request' && e.actorId === 'UBOB' && e.outcome === 'allowed')).toBe(true);
    expect(mine.some((e) => e.action.startsWith('button') && e.actorId === 'UBOB' && e.outcome === 'denied')).toBe(
      true,
    );
    expect(mine.some((e) => e.action.startsWith('button') && e.actorId === 'UCAROL' && e.outcome === 'allowed')).toBe(
      true,
    );
  });

  it('lets one deny close a request whatever the approvals (deny wins)', async () => {
    const n = stream.events.length;
    await command('UBOB', '/qm keys request prod bob-denied "second try" 7d');
    const card = await waitFor(() =>
      stream.events.slice(n).find((m) => m.where === 'channel' && m.summary.includes('bob-denied')),
    );
    const id = /Request (\w+)/.exec(card.summary)![1]!;
    await post('/playground/click', { member: 'UALICE', actionId: buttons(card).Approve, messageId: card.id });
    const voted = await waitFor(() => {
      const m = stream.messages.get(card.id)!;
      return text(m.html).includes('(1/2)') ? m : undefined;
    });
    await post('/playground/click', { member: 'UCAROL', actionId: buttons(voted).Deny, messageId: card.id });
    const denied = await waitFor(() => {
      const m = stream.messages.get(card.id)!;
      return text(m.html).includes('Denied by carol@example.com') ? m : undefined;
    });
    expect(buttons(denied)).toEqual({});
    expect((await qm.store.approvals.get(id))!.status).toBe('denied');
  });

  it('shows a key name with HTML in it as text', async () => {
    const sim = qm.simulator!;
    const prod = sim.state.workspaces.find((w) => w.name === 'prod')!;
    sim.state.addApiKey({
      name: '<img src=x onerror=alert(1)>',
      workspaceId: prod.id,
      createdBy: { id: sim.state.userByEmail('alice@example.com')!.id, type: 'user' },
    });
    await qm.services.directory.sync();
    const n = stream.events.length;
    await command('UALICE', '/qm keys list workspace:prod');
    const list = await ephemeralFor('UALICE', n);
    expect(list.html).not.toContain('<img');
    expect(list.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('shows a user no keys, while an admin sees them', async () => {
    let n = stream.events.length;
    await command('UALICE', '/qm keys list');
    const admin = await ephemeralFor('UALICE', n);
    expect(text(admin.html)).toContain('org-wide-gateway');
    expect(text(admin.html)).toContain('sk-ant-api03-');
    n = stream.events.length;
    await command('UDAVE', '/qm keys list');
    const user = await ephemeralFor('UDAVE', n);
    expect(text(user.html)).not.toContain('org-wide-gateway');
    expect(text(user.html)).not.toContain('sk-ant-api03-');
    expect(text(user.html)).toContain('needs the developer org role or higher');
  });

  it('posts a subscribed digest with its chart as an image once the clock is moved forward', async () => {
    // Due an hour before the moved clock, whatever the time of day the test runs at (the default 09:00 is more than
    // the 6 h catch-up behind it for part of every day).
    const at = new Date(qm.services.clock.now().getTime() + 25 * 3_600_000).toISOString().slice(11, 16);
    const sub = await command('UALICE', `/qm digest subscribe daily ${at} UTC`);
    expect(sub.body.outcome).toBe('allowed');
    const n = stream.events.length;
    expect((await post('/playground/clock', { minutes: 26 * 60 })).status).toBe(200);
    const digest = await waitFor(
      () => stream.events.slice(n).find((m) => m.where === 'channel' && m.html.includes('<img src="data:image/png')),
      15_000,
    );
    expect(digest.html).toMatch(/<figure><img src="data:image\/png;base64,[A-Za-z0-9+/=]{100,}" alt="[^"<>]+">/);
  });

  it('tells an unlinked member they are not linked', async () => {
    const n = stream.events.length;
    const res = await command('UUMA', '/qm keys list');
    expect(res.body).toMatchObject({ outcome: 'denied', errorCode: 'UNLINKED' });
    const m = await ephemeralFor('UUMA', n);
    expect(text(m.html)).toContain('not linked');
  });

  it('refuses unknown members and bad bodies with a clear message', async () => {
    expect(await command('UMALLORY', '/qm help')).toMatchObject({ status: 400 });
    // A form post from another site is refused unread.
    const form = await fetch(`${qm.url}/playground/command`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ member: 'UALICE', text: '/qm help' }),
    });
    expect(form.status).toBe(415);
    const r = await post('/playground/clock', { minutes: -5 });
    expect(r.status).toBe(400);
    expect(String(r.body.message)).toContain('minutes');
  });

  it('moves the simulated clock forward for the bot and the simulator together', async () => {
    const before = qm.services.clock.now().getTime();
    const r = await post('/playground/clock', { minutes: 120 });
    expect(r.status).toBe(200);
    expect(qm.services.clock.now().getTime() - before).toBeGreaterThanOrEqual(120 * 60_000);
    expect(Date.parse(String(r.body.now)) - Date.now()).toBeGreaterThan(119 * 60_000);
  });

  it('switches simulator faults on and off', async () => {
    expect((await post('/playground/faults', { fault: '500' })).body.pending).toBe(1);
    expect((await post('/playground/faults', { fault: 'clear' })).body.pending).toBe(0);
  });

  it('renders markup and escapes everything else', () => {
    expect(markupToHtml('**<b>x</b>** `a<b` [doc](https://example.com/?a=1&b=2) <@UBOB> \\*')).toBe(
      '<strong>&lt;b&gt;x&lt;/b&gt;</strong> <code>a&lt;b</code> <a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">doc</a> <span class="mention">@Bob</span> *',
    );
    expect(markupToHtml('[x](javascript:alert(1))')).not.toContain('href');
  });
});

describe('with an admin key', () => {
  it('serves a status page at / with nothing from the organization, and no playground routes', async () => {
    const t = await startTestApp();
    try {
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('Quartermaster is running');
      expect(html).toContain('npx quartermaster manifest slack');
      expect(html).not.toContain('Acme');
      expect(html).not.toContain('example.com');
      expect(html).not.toContain('sk-ant');
      expect(html).not.toContain('EventSource');
      for (const [method, path] of [
        ['POST', '/playground/command'],
        ['POST', '/playground/click'],
        ['GET', '/playground/events'],
        ['POST', '/playground/clock'],
        ['POST', '/playground/faults'],
      ] as const) {
        const r = await fetch(`${t.url}${path}`, {
          method,
          ...(method === 'POST' ? { body: JSON.stringify({ member: 'UALICE', text: '/qm keys list' }) } : {}),
        });
        expect(r.status, path).toBe(404);
      }
    } finally {
      await t.close();
    }
  });
});
