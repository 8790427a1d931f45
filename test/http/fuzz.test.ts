/**
 * Nothing a client sends takes Quartermaster down. A seeded fuzz over every route (`/slack/events`, the Slack
 * OAuth install paths, `/discord/interactions`, `/healthz`, `/readyz`, `/metrics`, unknown paths) through raw
 * loopback sockets: malformed request lines and headers, wrong and missing content types, truncated, oversized
 * and random bodies, some of them correctly signed so they get past verification. Every answer is a 4xx or
 * the normal answer, the server stays up, `/healthz` still answers, and no configured secret reaches the log.
 *
 * QM_FUZZ_SEED=<n> replays a run (the seed is printed in every failure message).
 */
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { SIGNING_SECRET } from '../fakes/slack.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';
import { type BotProcess, startBotProcess, stopBotProcess } from '../support/process.js';

const SEED = Number(process.env.QM_FUZZ_SEED ?? 0x5eed_c0de);
/** Random cases per route family (bounded: the whole file runs in seconds). */
const CASES = 40;

const CLIENT_ID = '1111111111.2222222222';
const CLIENT_SECRET = 'fuzz-slack-client-secret-7e1c5a9b2d';
const STATE_SECRET = 'fuzz-slack-state-secret-4f8a0c3e6b';
const METRICS_TOKEN = 'fuzz-metrics-token-91b3d7f5a2c4e6';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const text = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789{}[]":,=&%+ \\/\'<>') =>
    Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join('');
  return { next, int, pick, bytes, text };
}

interface RawAnswer {
  /** null when the server closed the connection without an answer. */
  status: number | null;
  head: string;
}

/** Writes raw bytes to the server over a fresh loopback socket and reads the first answer's status line. */
function raw(port: number, payload: Buffer | string, o: { halfClose?: boolean; waitMs?: number } = {}) {
  return new Promise<RawAnswer>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve({ status: m ? Number(m[1]) : null, head: data.split('\r\n\r\n')[0]!.slice(0, 300) });
    };
    const timer = setTimeout(finish, o.waitMs ?? 3000);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      // One answer is enough: stop at the end of its head (bodies are not needed).
      if (data.includes('\r\n\r\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(payload, () => {
      if (o.halfClose) socket.end();
    });
  });
}

const request = (
  method: string,
  target: string,
  headers: Record<string, string | number>,
  body: Buffer | string = '',
) =>
  Buffer.concat([
    Buffer.from(
      `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
      'latin1',
    ),
    typeof body === 'string' ? Buffer.from(body) : body,
  ]);

const slackSign = (body: string) => {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': sig };
};

const THE_KILLER = 'GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n';

const ROUTES = [
  ['POST', '/slack/events'],
  ['GET', '/slack/install'],
  ['GET', '/slack/oauth_redirect'],
  ['POST', '/discord/interactions'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/no/such/path'],
  ['POST', '/'],
] as const;
const POST_ROUTES = ['/slack/events', '/discord/interactions'] as const;
const CONTENT_TYPES = [
  null,
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'image/png',
  '',
] as const;

let t: TestApp;
let port: number;
const answers: { label: string; status: number | null }[] = [];

async function send(label: string, payload: Buffer | string, o?: { halfClose?: boolean; waitMs?: number }) {
  const a = await raw(port, payload, o);
  answers.push({ label, status: a.status });
  return a;
}

/** Every answer so far: a 4xx or a normal answer, never a 5xx. */
function expectNo5xx() {
  const bad = answers.filter((a) => a.status !== null && a.status >= 500);
  expect(bad, `seed ${SEED}: server errors for ${JSON.stringify(bad.slice(0, 5))}`).toEqual([]);
}

async function expectHealthy() {
  const r = await fetch(`${t.url}/healthz`);
  expect(r.status, `seed ${SEED}: /healthz after the fuzz`).toBe(200);
}

beforeAll(async () => {
  t = await startTestApp({
    discord: true,
    env: {
      SLACK_BOT_TOKEN: '',
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: CLIENT_SECRET,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_ALLOWED_TEAMS: 'T0OTHER',
      METRICS_TOKEN,
    },
  });
  port = t.qm.port;
});

afterAll(async () => {
  await t?.close();
});

describe('HTTP fuzz over every route', () => {
  it('answers the absolute-form target with a bad port (GET http://a:99999/) with 400 and keeps serving', async () => {
    const a = await send('killer', THE_KILLER);
    expect(a.status).toBe(400);
    for (const target of ['http://a:99999/healthz', 'http://[::1/', 'https://x:-1/', '*', 'healthz', 'http://']) {
      const b = await send(`target ${target}`, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(b.status, target).toBeGreaterThanOrEqual(400);
      expect(b.status, target).toBeLessThan(500);
    }
    // A proxy's well-formed absolute-form target is still routed.
    const ok = await send(
      'absolute healthz',
      'GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(ok.status).toBe(200);
    await expectHealthy();
  });

  it('refuses malformed request lines and headers with 4xx and closes the connection', async () => {
    const r = prng(SEED);
    const fixed = [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'GET  HTTP/1.1\r\n\r\n',
      '\x00\x01\x02\x03\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nNo-Colon-Here\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nX: a\x00b\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
      'POST /slack/events HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello',
      'POST /slack/events HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      'POST /discord/interactions HTTP/1.1\r\nContent-Length: abc\r\n\r\n',
      'POST /discord/interactions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n',
    ];
    for (const [i, payload] of fixed.entries()) {
      const a = await send(`malformed #${i}`, payload);
      expect(a.status, `seed ${SEED}: malformed #${i} ${JSON.stringify(payload.slice(0, 60))}`).not.toBeNull();
      expect(a.status!, `malformed #${i}: ${a.head}`).toBeGreaterThanOrEqual(400);
    }
    for (let i = 0; i < CASES; i++) {
      const [method, path] = r.pick(ROUTES);
      const line =
        r.next() < 0.5
          ? `${method} ${path}${r.text(r.int(20))} HTTP/1.${r.int(3)}`
          : r.bytes(1 + r.int(60)).toString('latin1');
      const headers = Array.from({ length: r.int(4) }, () => `${r.text(1 + r.int(10))}:${r.text(r.int(30))}`);
      await send(`random line #${i}`, `${line}\r\n${headers.join('\r\n')}\r\n\r\n`, { waitMs: 1000 });
    }
    expectNo5xx();
    await expectHealthy();
  });

  it('answers wrong and missing content types, random, truncated and signed random bodies with 4xx or the normal answer', async () => {
    const r = prng(SEED + 1);
    for (let i = 0; i < CASES; i++) {
      const path = r.pick(POST_ROUTES);
      const type = r.pick(CONTENT_TYPES);
      const kind = r.pick(['random', 'json', 'form', 'truncated', 'signed'] as const);
      let body: Buffer;
      if (kind === 'random') body = r.bytes(r.int(2000));
      else if (kind === 'json') body = Buffer.from(JSON.stringify({ type: r.int(10), [r.text(5)]: r.text(40) }));
      else if (kind === 'form') body = Buffer.from(`payload=${encodeURIComponent(r.text(200))}&command=%2Fqm`);
      else body = Buffer.from(r.text(300));
      const headers: Record<string, string | number> = { 'Content-Length': body.length };
      if (type !== null) headers['Content-Type'] = type;
      if (kind === 'signed') {
        const text = r.pick([
          JSON.stringify({ type: r.int(6), id: r.text(10), data: { name: r.text(8) }, token: r.text(20) }),
          `payload=${encodeURIComponent(JSON.stringify({ type: r.pick(['block_actions', 'view_submission', r.text(6)]), actions: [{ action_id: `qm_${r.text(8)}` }] }))}`,
          `command=%2Fqm&text=${encodeURIComponent(r.text(100))}&team_id=T${r.text(6)}&user_id=U${r.text(6)}`,
          JSON.stringify({ type: 'event_callback', event: { type: r.text(8) }, team_id: 'T0OTHER' }),
          r.text(200),
        ]);
        body = Buffer.from(text);
        headers['Content-Length'] = body.length;
        Object.assign(headers, path === '/slack/events' ? slackSign(text) : t.discord!.signedInteraction(text).headers);
      }
      if (kind === 'truncated') {
        // Declares more than it sends, then stops writing: the server must not answer 5xx (or hang its peers).
        headers['Content-Length'] = body.length + 100;
        await send(`truncated #${i} ${path}`, request('POST', path, headers, body), { halfClose: true, waitMs: 500 });
      } else {
        const a = await send(`${kind} #${i} ${path} ${type}`, request('POST', path, headers, body));
        expect(a.status, `seed ${SEED}: ${kind} #${i} ${path} got no answer`).not.toBeNull();
      }
    }
    expectNo5xx();
    await expectHealthy();
  });

  it('answers oversized bodies with 413 without reading them', async () => {
    for (const path of POST_ROUTES) {
      // Declared: refused from the headers alone.
      const declared = await send(
        `declared 50 MB ${path}`,
        request('POST', path, { 'Content-Type': 'application/json', 'Content-Length': 50_000_000 }, '{"a":'),
      );
      expect(declared.status, path).toBe(413);
      // Streamed (chunked, no length, 2 MB): cut off at the 1 MB limit, not buffered to the end.
      const chunk = Buffer.alloc(256 * 1024, 'a');
      const chunks = Array.from({ length: 8 }, () =>
        Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
      );
      const streamed = await send(
        `streamed 2 MB ${path}`,
        Buffer.concat([
          Buffer.from(
            `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
          ),
          ...chunks,
          Buffer.from('0\r\n\r\n'),
        ]),
        { waitMs: 5000 },
      );
      expect(streamed.status, path).toBe(413);
    }
    await expectHealthy();
  });

  it('keeps the GET routes to their normal answers or 4xx whatever the query, headers and method', async () => {
    const r = prng(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const [, path] = r.pick(ROUTES);
      const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE']);
      const query = r.next() < 0.5 ? `?${r.text(r.int(80), 'abc=&%?#+/0123456789xyz')}` : '';
      const headers: Record<string, string> = {};
      if (r.next() < 0.3) headers.Authorization = r.pick([`Bearer ${r.text(20)}`, 'Basic Zm9vOmJhcg==', r.text(10)]);
      if (r.next() < 0.3) headers.Cookie = `slack-app-oauth-state=${r.text(40)}`;
      await send(`${method} ${path}${query}`, request(method, `${path}${query}`, headers), { waitMs: 1000 });
    }
    expectNo5xx();
    await expectHealthy();
  });

  it('logged no configured secret and no server error while being fuzzed', async () => {
    const out = t.logs.join('');
    for (const secret of [SIGNING_SECRET, CLIENT_SECRET, STATE_SECRET, METRICS_TOKEN, ADMIN_KEY, t.discord!.token]) {
      expect(out, `seed ${SEED}: a secret (${secret.slice(0, 6)}…) reached the log`).not.toContain(secret);
    }
    const failures = t.logs.filter((l) => l.includes('"msg":"http handler failed"'));
    expect(failures, `seed ${SEED}`).toEqual([]);
    await expectHealthy();
  });
});

describe('npm start as a process', () => {
  let sim: Simulator;
  let db: { url: string; drop(): Promise<void> };
  let bot: BotProcess | null = null;

  beforeAll(async () => {
    sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
    db = await createTestDatabaseUrl();
    bot = await startBotProcess(['npm', 'start'], {
      DATABASE_URL: db.url,
      ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
      ANTHROPIC_BASE_URL: sim.url,
    });
  }, 90_000);

  afterAll(async () => {
    await stopBotProcess(bot);
    await sim?.close();
    await db?.drop();
  });

  it('survives GET http://a:99999/ HTTP/1.1 and still answers /healthz', async () => {
    const { port: botPort } = new URL(bot!.url);
    const a = await raw(Number(botPort), THE_KILLER);
    expect(a.status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    expect(bot!.child.exitCode, bot!.output()).toBeNull();
    const health = await fetch(`${bot!.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
