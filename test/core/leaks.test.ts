import { describe, expect, it } from 'vitest';
import { findSecrets, keyHint } from '../../src/core/leaks/detect.js';
import { byPatterns, mixedText } from '../support/leaks.js';

const body = (c: string) => c.repeat(93).slice(0, 93);
const API_KEY = `sk-ant-api03-${body('Ab3_-x')}AA`;
const ADMIN_KEY = `sk-ant-admin01-${body('Zq9')}AA`;

describe('findSecrets', () => {
  it('finds API and admin keys with their position and only the hint', () => {
    const text = `line one\nexport ANTHROPIC_API_KEY=${API_KEY}\n  admin: "${ADMIN_KEY}"\n`;
    const found = findSecrets(text);
    expect(found).toEqual([
      { kind: 'anthropic_api_key', line: 2, column: 26, hint: keyHint(API_KEY), index: 34, length: 108 },
      { kind: 'anthropic_admin_key', line: 3, column: 11, hint: keyHint(ADMIN_KEY), index: 153, length: 110 },
    ]);
    expect(text.slice(found[0]!.index, found[0]!.index + found[0]!.length)).toBe(API_KEY);
    expect(text.slice(found[1]!.index, found[1]!.index + found[1]!.length)).toBe(ADMIN_KEY);
    expect(JSON.stringify(found)).not.toContain(API_KEY.slice(16, -4));
    expect(found[0]!.hint).toMatch(/^sk-ant-api03-Ab3\.\.\.x_AA$|^sk-ant-api03-.{3}\.\.\..{4}$/);
  });

  it('ignores near misses: too short, too long, wrong ending, inside a longer token', () => {
    expect(findSecrets(`sk-ant-api03-${body('a').slice(1)}AA`)).toEqual([]);
    expect(findSecrets(`sk-ant-api03-${body('a')}AAx`)).toEqual([]);
    expect(findSecrets(`sk-ant-api03-${body('a')}AB`)).toEqual([]);
    expect(findSecrets(`xsk-ant-api03-${body('a')}AA`)).toEqual([]);
  });

  it('finds OAuth tokens', () => {
    expect(findSecrets(`token=sk-ant-oat01-${'t0K'.repeat(16)}`)[0]?.kind).toBe('anthropic_oauth_token');
  });
});

describe('findSecrets agrees with the patterns', () => {
  it('on keys glued to each other, to near misses and to non-ASCII text', () => {
    let findings = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const text = mixedText(seed, 12);
      const want = byPatterns(text);
      expect(findSecrets(text), JSON.stringify(text)).toEqual(want);
      findings += want.length;
    }
    expect(findings).toBeGreaterThan(200);
  });

  it('counts lines and columns far into a text, in UTF-16 code units', () => {
    const text = `${'é😀 filler\n'.repeat(5000)}😀 ${API_KEY}\n${'x'.repeat(300)} ${ADMIN_KEY}`;
    expect(findSecrets(text)).toEqual([
      { kind: 'anthropic_api_key', line: 5001, column: 4, hint: keyHint(API_KEY), index: 55003, length: 108 },
      { kind: 'anthropic_admin_key', line: 5002, column: 302, hint: keyHint(ADMIN_KEY), index: 55413, length: 110 },
    ]);
  });

  it('finds a key right after a prefix that leads nowhere, and none inside a longer token', () => {
    expect(findSecrets(`sk-ant- ${API_KEY}`)).toHaveLength(1);
    expect(findSecrets(`sk-ant-${API_KEY}`)).toEqual([]);
    expect(findSecrets(`sk-ant-oat01-${'t0K'.repeat(16)}${API_KEY}`).map((f) => f.kind)).toEqual([
      'anthropic_oauth_token',
    ]);
  });
});
