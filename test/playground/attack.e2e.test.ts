/**
 * The playground as an attacker sees it: with a real admin key nothing of it answers (any method, trailing slash,
 * encoded path) and `/` names no secret; with the simulator, bodies that are too large or not JSON get a clear
 * answer, the event stream is not readable from other origins. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startQuartermaster } from '../../src/main.js';
import { BOT_TOKEN } from '../fakes/slack.js';
import { ADMIN_KEY, startTestApp, writePolicy } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';

const raw = (url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let b = '';
      res.on('data', (c) => {
        b += c;
        if (res.headers['content-type']?.includes('event-stream')) res.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });

/** Every message a page opening the event stream now is sent (the stream replays what was said). */
async function readStream(url: string): Promise<{ html: string; where: string; to: string | null }[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/playground/events`, { signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const stop = setTimeout(() => abort.abort(), 1_000);
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) break;
    buf += value;
  }
  clearTimeout(stop);
  return buf
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));
}

describe('with an admin key', () => {
  it('answers 404 to every playground route however it is spelled, and / shows no secret', async () => {
    const t = await startTestApp();
    try {
      const probes: [string, string][] = [];
      for (const p of [
        '/playground/events',
        '/playground/events/',
        '/playground/command',
        '/playground/command/',
        '/playground/%63ommand',
        '/PLAYGROUND/command',
        '/playground/click',
        '/playground/clock',
        '/playground/faults',
        '/playground',
        '/playground/',
        '//playground/events',
        '/playground/./command',
        '/x/../playground/command',
        '/playground/command?x=1',
      ])
        for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS']) probes.push([m, p]);
      for (const [m, p] of probes) {
        const r = await raw(
          t.url,
          m,
          p,
          { 'content-type': 'application/json' },
          m === 'POST' || m === 'PUT' ? '{"member":"UALICE","text":"/qm keys list"}' : undefined,
        );
        expect(r.status, `${m} ${p}`).toBe(404);
      }
      const home = await raw(t.url, 'GET', '/');
      expect(home.status).toBe(200);
      for (const secret of [ADMIN_KEY, BOT_TOKEN, 'sk-ant', 'file:', 'postgres'])
        expect(home.body).not.toContain(secret);
      expect(home.body).not.toContain('playground/events');
    } finally {
      await t.close();
    }
  });

  it('does not show credentials written into ANTHROPIC_BASE_URL on the status page', async () => {
    const t = await startTestApp({ env: {} });
    const db = await createTestDatabaseUrl();
    const base = new URL(t.sim.url);
    base.username = 'proxyuser';
    base.password = 'hunter2proxysecret';
    base.search = '?token=querysecret123';
    const qm = await startQuartermaster({
      env: {
        DATABASE_URL: db.url,
        ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
        ANTHROPIC_BASE_URL: base.toString(),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      },
      print: () => {},
      skipMigrate: true,
      scheduler: false,
      logDestination: { write: () => true } as never,
    });
    try {
      expect(qm.simulator).toBeNull();
      const home = await raw(qm.url, 'GET', '/');
      expect(home.status).toBe(200);
      expect(home.body).toContain(`${base.hostname}:${base.port}`);
      expect(home.body).not.toContain('hunter2proxysecret');
      expect(home.body).not.toContain('querysecret123');
      expect(home.body).not.toContain('proxyuser');
      expect((await raw(qm.url, 'GET', '/playground/events')).status).toBe(404);
    } finally {
      await qm.close();
      await db.drop();
      await t.close();
    }
  });
});

describe('with the simulator', () => {
  it('refuses bodies that are not JSON or too large with a clear answer, and the stream is not cross-origin', async () => {
    const db = await createTestDatabaseUrl();
    const qm = await startQuartermaster({
      env: {
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        QM_POLICY: writePolicy('version: 1\n'),
      },
      print: () => {},
      skipMigrate: true,
      scheduler: false,
      logDestination: { write: () => true } as never,
    });
    try {
      const json = { 'content-type': 'application/json' };
      for (const path of ['/playground/command', '/playground/click', '/playground/clock', '/playground/faults']) {
        const malformed = await raw(qm.url, 'POST', path, json, '{"member": "UBOB", "text": ');
        expect(malformed.status, path).toBe(400);
        expect(JSON.parse(malformed.body).message, path).toMatch(/not valid JSON/);
        // Chunked (no content-length), so only reading it finds it too large.
        const big = await raw(
          qm.url,
          'POST',
          path,
          { ...json, 'transfer-encoding': 'chunked' },
          `{"text":"${'a'.repeat(40_000)}"}`,
        );
        expect(big.status, path).toBe(413);
        const form = await raw(
          qm.url,
          'POST',
          path,
          { 'content-type': 'text/plain' },
          '{"member":"UBOB","text":"/qm help"}',
        );
        expect(form.status, path).toBe(415);
      }
      // An empty playground's stream still opens at once (headers sent), not at the first ping 15 s later.
      const opened = Date.now();
      const events = await raw(qm.url, 'GET', '/playground/events', { origin: 'https://evil.example' });
      expect(Date.now() - opened).toBeLessThan(3_000);
      expect(events.status).toBe(200);
      expect(events.headers['access-control-allow-origin']).toBeUndefined();
      const unknown = await raw(qm.url, 'POST', '/playground/command', json, '{"member":"UMALLORY","text":"/qm help"}');
      expect(unknown.status).toBe(400);

      // Markup and HTML typed into commands, names, reasons and workspace filters come back as text only.
      const typed = [
        '/qm <img src=x onerror=alert(1)>',
        '/qm keys request prod "[x](https://evil.example/a)" "[click](javascript:alert(1)) <a href=x>" 7d',
        '/qm keys request prod "x\\" onmouseover=alert(1) y" "see ](https://evil.example/b)" 7d',
        '/qm keys list workspace:"<svg onload=alert(1)>"',
        '/qm keys rename "**[y](https://evil.example/c)**" "`<b>`"',
        '/qm whoami <iframe>',
      ];
      for (const member of ['UBOB', 'UALICE', 'UUMA']) {
        for (const text of typed) {
          const r = await raw(qm.url, 'POST', '/playground/command', json, JSON.stringify({ member, text }));
          expect(r.status, text).toBe(200);
        }
      }
      const all = await readStream(qm.url);
      expect(all.length).toBeGreaterThanOrEqual(typed.length * 3);
      const html = all.map((m) => m.html).join('\n');
      expect(html).toContain('&lt;svg onload=alert(1)&gt;');
      expect(html).toContain('[click](javascript:alert(1)) &lt;a href=x&gt;');
      expect(html).not.toMatch(/<(img|svg|iframe|script)\b/i);
      expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
      expect(html).not.toContain('evil.example/a"');
      for (const href of html.matchAll(/href="([^"]*)"/g)) {
        expect(href[1]).toMatch(/^https?:\/\//);
        expect(href[1]).not.toContain('evil.example');
      }
    } finally {
      await qm.close();
      await db.drop();
    }
  });
});
