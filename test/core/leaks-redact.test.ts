/**
 * What the leak flow may show of a text that held a secret (redact), and how it recovers the secrets themselves
 * from findSecrets' line and column (locateSecrets), over generated text full of keys and near misses.
 */
import { describe, expect, it } from 'vitest';
import { classifySecret, keyHint } from '../../src/core/leaks/detect.js';
import { locateSecrets, redact } from '../../src/core/leaks/incidents.js';
import { byPatterns, mixedText } from '../support/leaks.js';

const KEY_SHAPED = /sk-ant-(api03|admin01)-[A-Za-z0-9_-]{93}AA|sk-ant-o[ar]t01-[A-Za-z0-9_-]{40}/;
/** A wrapped key's span without its line break. */
const joined = (t: string) => t.replace(/\r?\n/, '');

describe('locateSecrets and redact', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`finds exactly the secrets of generated text ${seed}, and redaction leaves nothing key-shaped`, () => {
      const text = mixedText(seed, 400);
      const found = locateSecrets(text);
      // The detector's rules as regular expressions (emphasis, escapes, wrapped keys, placeholders left out).
      const expected = byPatterns(text).map((f) => ({
        kind: f.kind,
        secret: joined(text.slice(f.index, f.index + f.length)),
      }));
      expect(expected.length).toBeGreaterThan(5);
      expect(found.map((f) => ({ kind: f.kind, secret: f.secret }))).toEqual(expected);
      for (const f of found) {
        expect(classifySecret(f.secret)).toBe(f.kind);
        expect(joined(f.line).includes(f.secret)).toBe(true);
      }
      const shown = redact(text);
      expect(shown).not.toMatch(KEY_SHAPED);
      for (const f of expected) {
        expect(shown).toContain(keyHint(f.secret));
        // No part of a secret beyond its hint is shown, not even the second line of a wrapped key.
        expect(shown).not.toContain(f.secret.slice(16, 40));
        expect(shown).not.toContain(f.secret.slice(-40, -4));
      }
    });
  }

  it('replaces a secret by its hint and cuts anything else that starts like one', () => {
    const key = `sk-ant-api03-${'aB3-'.repeat(23)}xAA`;
    expect(redact(`KEY=${key}; old=sk-ant-api03-short x${key}`)).toBe(`KEY=${keyHint(key)}; old=sk-ant-… xsk-ant-…`);
    expect(redact(`_${key}_ and wrapped ${key.slice(0, 60)}\n${key.slice(60)} end`)).toBe(
      `_${keyHint(key)}_ and wrapped ${keyHint(key)} end`,
    );
    expect(redact('nothing here')).toBe('nothing here');
  });
});
