/** No secret reaches a log line: by shape (Anthropic keys, Slack tokens), by field name, or by configured value. */
import type { DestinationStream } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';

const body = (c: string) => c.repeat(93);
const API_KEY = `sk-ant-api03-${body('a1B2_-').slice(0, 93)}AA`;
const ADMIN_KEY = `sk-ant-admin01-${body('Z9y8').slice(0, 93)}AA`;
const BOT_TOKEN = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const APP_TOKEN = 'xapp-1-A0123456789-1234567890123-abcdef0123456789';
/** Configured secrets with no recognisable shape: only the configured-value scrub can catch them. */
const SIGNING_SECRET = '8f14e45fceea167a5a36dedd4bea2543';
const WEBHOOK_TOKEN = 'correct-horse-battery-staple';
const SECRETS = [API_KEY, ADMIN_KEY, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN];

function capture(secrets: readonly (string | undefined)[] = [SIGNING_SECRET, WEBHOOK_TOKEN, undefined]) {
  const lines: string[] = [];
  const destination: DestinationStream = {
    write(s: string) {
      lines.push(...s.split('\n').filter(Boolean));
    },
  };
  const logger = createLogger({ level: 'trace', destination, secrets });
  const flush = async () => {
    await new Promise((r) => setImmediate(r));
    return lines.join('\n');
  };
  return { logger, lines, flush };
}

function expectClean(output: string) {
  for (const s of SECRETS) expect(output, `leaked ${s.slice(0, 12)}…`).not.toContain(s);
  // Nor a large part of one (a half-redacted key is still a leak).
  for (const s of SECRETS) expect(output).not.toContain(s.slice(0, 24));
}

describe('createLogger', () => {
  it('writes JSON lines with ordinary fields intact', async () => {
    const { logger, flush, lines } = capture();
    logger.info({ command: 'keys list', teamId: 'T123', ms: 42 }, 'command');
    await flush();
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ app: 'quartermaster', command: 'keys list', teamId: 'T123', ms: 42, msg: 'command' });
  });

  it('scrubs keys and tokens from the message', async () => {
    const { logger, flush } = capture();
    logger.warn(`user pasted ${API_KEY} and ${ADMIN_KEY} next to ${BOT_TOKEN} and ${APP_TOKEN}`);
    logger.info(`signing secret is ${SIGNING_SECRET}, webhook token ${WEBHOOK_TOKEN}`);
    logger.info('formatted %s and %o', API_KEY, { nested: ADMIN_KEY });
    const out = await flush();
    expectClean(out);
    expect(out).toContain('user pasted [REDACTED] and [REDACTED] next to [REDACTED] and [REDACTED]');
    expect(out).toContain('signing secret is [REDACTED], webhook token [REDACTED]');
  });

  it('scrubs nested objects and arrays, and censors secret field names', async () => {
    const { logger, flush, lines } = capture();
    logger.info(
      {
        request: { body: { text: `here is my key ${API_KEY}` }, headers: { authorization: `Bearer ${BOT_TOKEN}` } },
        options: { note: [SIGNING_SECRET, 'keep me'] },
        adminKey: 'not-key-shaped-but-a-secret-field',
        config: { botToken: 'also-a-secret-field', port: 3000 },
        workspace: 'prod',
      },
      'options',
    );
    const out = await flush();
    expectClean(out);
    expect(out).not.toContain('not-key-shaped-but-a-secret-field');
    expect(out).not.toContain('also-a-secret-field');
    const line = JSON.parse(lines[0]!);
    expect(line.request.body.text).toBe('here is my key [REDACTED]');
    expect(line.options.note).toEqual(['[REDACTED]', 'keep me']);
    expect(line.config.port).toBe(3000);
    expect(line.workspace).toBe('prod');
  });

  it('censors secret headers and secret fields of an error by name, leaving the logged objects untouched', async () => {
    const { logger, flush, lines } = capture();
    const headers = { 'x-api-key': 'plain-admin-key-value', 'X-Slack-Signature': 'v0=abcdef', accept: 'json' };
    const upstream = { status: 401, headers: { authorization: 'Basic plain-credentials', 'x-api-key': 'plain2' } };
    const err = Object.assign(new Error('upstream refused'), { token: 'plain-token-on-error', status: 401 });
    logger.warn({ headers, upstream, err, cause: err }, 'refused');
    const out = await flush();
    for (const plain of ['plain-admin-key-value', 'v0=abcdef', 'plain-credentials', 'plain2', 'plain-token-on-error'])
      expect(out).not.toContain(plain);
    const line = JSON.parse(lines[0]!);
    expect(line.headers).toEqual({ 'x-api-key': '[REDACTED]', 'X-Slack-Signature': '[REDACTED]', accept: 'json' });
    expect(line.upstream).toEqual({ status: 401, headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' } });
    // The error is still logged as an error: message and stack survive the censoring copy.
    expect(line.err).toMatchObject({ type: 'Error', message: 'upstream refused', status: 401 });
    expect(line.err.stack).toContain('logger.test.ts');
    expect(line.cause.token).toBe('[REDACTED]');
    // What the caller logged is not modified.
    expect(headers['x-api-key']).toBe('plain-admin-key-value');
    expect((err as unknown as { token: string }).token).toBe('plain-token-on-error');
  });

  it("censors secret fields of bindings given by setBindings, and of a child's own log formatter", async () => {
    const { logger, flush } = capture();
    const child = logger.child({ adapter: 'slack' });
    child.setBindings({ token: 'plain-token-set-later', nested: { password: 'plain-password-set-later' } });
    child.info('bound later');
    logger.child({}, { formatters: { log: (o) => ({ ...o, shaped: true }) } }).info({ secret: 'plain-own-fmt' }, 'x');
    const out = await flush();
    for (const plain of ['plain-token-set-later', 'plain-password-set-later', 'plain-own-fmt'])
      expect(out).not.toContain(plain);
    expect(out).toContain('"shaped":true');
    expect(out).toContain('"adapter":"slack"');
  });

  it('scrubs error messages, stacks and causes', async () => {
    const { logger, flush, lines } = capture();
    const cause = new Error(`upstream echoed x-api-key: ${ADMIN_KEY}`);
    const err = new Error(`request with ${API_KEY} failed (secret ${WEBHOOK_TOKEN})`, { cause });
    (err as any).status = 401;
    logger.error({ err, ref: 'abc123' }, 'command crashed');
    const out = await flush();
    expectClean(out);
    const line = JSON.parse(lines[0]!);
    expect(line.err.message).toBe('request with [REDACTED] failed (secret [REDACTED])');
    expect(line.err.stack).toContain('[REDACTED]');
    expect(line.err.stack).toContain('logger.test.ts');
    expect(line.err.status).toBe(401);
    expect(line.err.cause.message).toBe('upstream echoed x-api-key: [REDACTED]');
    expect(line.ref).toBe('abc123');
  });

  it('scrubs child logger bindings', async () => {
    const { logger, flush, lines } = capture();
    const child = logger.child({ requestText: `keys revoke ${API_KEY}`, userId: 'U123', token: 'field-named-token' });
    child.info({ extra: SIGNING_SECRET }, `from the child ${BOT_TOKEN}`);
    child.child({ deeper: ADMIN_KEY }).warn('grandchild');
    const out = await flush();
    expectClean(out);
    expect(out).not.toContain('field-named-token');
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({
      requestText: 'keys revoke [REDACTED]',
      userId: 'U123',
      msg: 'from the child [REDACTED]',
    });
    expect(second).toMatchObject({ deeper: '[REDACTED]', userId: 'U123', msg: 'grandchild' });
  });

  it('scrubs a configured secret containing quotes or backslashes (JSON-escaped in the line)', async () => {
    const odd = 'my"webhook\\secret\tx';
    const { logger, flush, lines } = capture([odd]);
    logger.info({ body: `x ${odd} y` }, `got ${odd}`);
    const out = await flush();
    expect(out).not.toContain('webhook');
    expect(JSON.parse(lines[0]!)).toMatchObject({ body: 'x [REDACTED] y', msg: 'got [REDACTED]' });
  });

  it('ignores unset and too-short configured secrets rather than redacting common text', async () => {
    const { logger, flush } = capture([undefined, '', 'abc']);
    logger.info('abc is fine');
    expect(await flush()).toContain('abc is fine');
  });

  it('respects the level', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } });
    logger.info('hidden');
    logger.warn('shown');
    await new Promise((r) => setImmediate(r));
    expect(lines.join('')).not.toContain('hidden');
    expect(lines.join('')).toContain('shown');
  });
});
