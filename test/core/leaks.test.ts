import { describe, expect, it } from 'vitest';
import { findSecrets, keyHint } from '../../src/core/leaks/detect.js';

const body = (c: string) => c.repeat(93).slice(0, 93);
const API_KEY = `sk-ant-api03-${body('Ab3_-x')}AA`;
const ADMIN_KEY = `sk-ant-admin01-${body('Zq9')}AA`;

describe('findSecrets', () => {
  it('finds API and admin keys with their position and only the hint', () => {
    const text = `line one\nexport ANTHROPIC_API_KEY=${API_KEY}\n  admin: "${ADMIN_KEY}"\n`;
    const found = findSecrets(text);
    expect(found).toEqual([
      { kind: 'anthropic_api_key', line: 2, column: 26, hint: keyHint(API_KEY) },
      { kind: 'anthropic_admin_key', line: 3, column: 11, hint: keyHint(ADMIN_KEY) },
    ]);
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
    expect(findSecrets(`token=sk-ant-oat01-${'t'.repeat(48)}`)[0]?.kind).toBe('anthropic_oauth_token');
  });
});
