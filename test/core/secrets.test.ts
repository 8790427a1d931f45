/** The secret shapes redaction knows: Anthropic keys and tokens, Slack tokens, Discord bot tokens. */
import { describe, expect, it } from 'vitest';
import { containsSecret, identifySecret, REDACTED, redactDeep, redactSecrets } from '../../src/core/secrets.js';

const body = (c: string, n = 93) => c.repeat(n).slice(0, n);
const API_KEY = `sk-ant-api03-${body('a1B2_-')}AA`;
const ADMIN_KEY = `sk-ant-admin01-${body('Z9y8')}AA`;
const OAUTH_TOKEN = `sk-ant-oat01-${body('Tk7', 60)}`;
const SLACK_BOT = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const SLACK_REFRESH = 'xoxe-1-My0xLTU2Nzg5MDEyMzQtMTIzNDU2Nzg5MDEyMy1hYmNkZWY';
const SLACK_ROTATING = 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MDEyMy1hYmNkZWY';
/** The documented shape: base64 user id, timestamp, HMAC (not a real token). */
const DISCORD_TOKEN = 'MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-';
const DISCORD_TOKEN_N = 'NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I';

describe('redactSecrets', () => {
  it.each([
    ['Anthropic API key', API_KEY],
    ['Anthropic Admin key', ADMIN_KEY],
    ['Anthropic OAuth token', OAUTH_TOKEN],
    ['Slack bot token', SLACK_BOT],
    ['Slack refresh token (xoxe-)', SLACK_REFRESH],
    ['Discord bot token', DISCORD_TOKEN],
    ['Discord bot token (N…)', DISCORD_TOKEN_N],
  ])('removes a %s from surrounding text', (_, secret) => {
    const text = `before ${secret} after`;
    expect(redactSecrets(text)).toBe(`before ${REDACTED} after`);
    expect(containsSecret(text)).toBe(true);
  });

  it('leaves nothing of a rotating Slack token (xoxe.xoxp-…) that could be used', () => {
    const out = redactSecrets(`token=${SLACK_ROTATING}`);
    expect(out).not.toContain(SLACK_ROTATING.slice(5));
    expect(out).toContain(REDACTED);
  });

  it('finds a Discord token next to punctuation and in an Authorization header', () => {
    expect(redactSecrets(`Authorization: Bot ${DISCORD_TOKEN}`)).toBe(`Authorization: Bot ${REDACTED}`);
    expect(redactSecrets(`"${DISCORD_TOKEN}",`)).toBe(`"${REDACTED}",`);
  });

  it('does not touch ordinary command text, ids, hints, emails or dotted names', () => {
    for (const text of [
      'keys list workspace:prod status:active',
      'members role bob@example.com developer reason:"on-call rotation"',
      'apikey_01AbCdEfGhIjKlMnOpQrStUv wrkspc_01XyZ',
      'sk-ant-api03-R2D...igAA',
      'Mozilla/5.0 release.notes.v2',
      'xoxe is not a token by itself',
      // Discord-like but one segment too short.
      'MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjK.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
    ]) {
      expect(redactSecrets(text)).toBe(text);
      expect(containsSecret(text)).toBe(false);
    }
  });

  it('redactDeep redacts every string in nested values and keeps the rest', () => {
    expect(redactDeep({ a: [`x ${DISCORD_TOKEN}`, 3], b: { c: SLACK_REFRESH, d: true } })).toEqual({
      a: [`x ${REDACTED}`, 3],
      b: { c: REDACTED, d: true },
    });
  });
});

describe('identifySecret', () => {
  it('names what kind of secret the text holds', () => {
    expect(identifySecret(`keys list status:${API_KEY}`)).toEqual({ shape: 'anthropic_api_key', secret: API_KEY });
    expect(identifySecret(ADMIN_KEY)?.shape).toBe('anthropic_admin_key');
    expect(identifySecret(OAUTH_TOKEN)?.shape).toBe('anthropic_oauth_token');
    expect(identifySecret(`sk-ant-sid01-${body('q', 40)}`)?.shape).toBe('anthropic_credential');
    expect(identifySecret(SLACK_REFRESH)).toEqual({ shape: 'slack_token', secret: SLACK_REFRESH });
    expect(identifySecret(`reason: ${DISCORD_TOKEN}`)).toEqual({ shape: 'discord_token', secret: DISCORD_TOKEN });
  });

  it('returns null for text without a secret, and is stable across calls (no regex state)', () => {
    expect(identifySecret('keys list prod active')).toBeNull();
    for (let i = 0; i < 3; i++) expect(identifySecret(API_KEY)?.shape).toBe('anthropic_api_key');
  });
});
