/** The byte scanner behind `scan`: the same findings as `findSecrets` on the decoded text, however the bytes are cut. */
import { describe, expect, it } from 'vitest';
import { ByteSecretScanner } from '../../src/cli/scan-stream.js';
import { findSecrets } from '../../src/core/leaks/detect.js';
import { mixedText } from '../support/leaks.js';

const KEY = `sk-ant-api03-${'Ab3_-x'.repeat(16).slice(0, 93)}AA`;
const TOKEN = `sk-ant-oat01-${'T0k'.repeat(300)}`;

function scanBytes(bytes: Buffer, cuts: number[]) {
  const scanner = new ByteSecretScanner();
  const found = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    found.push(...scanner.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return [...found, ...scanner.end()];
}

describe('ByteSecretScanner', () => {
  it('finds each key wherever the chunks are cut, even inside the key or inside a multi-byte character', () => {
    const text = `é😀 one\n${'ü'.repeat(3)}${KEY} x\n\t${TOKEN}\nsk-ant- ${KEY}`;
    const bytes = Buffer.from(text);
    const want = findSecrets(text);
    expect(want.map((f) => [f.kind, f.line, f.column])).toEqual([
      ['anthropic_api_key', 2, 4],
      ['anthropic_oauth_token', 3, 2],
      ['anthropic_api_key', 4, 9],
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) expect(scanBytes(bytes, [cut]), `cut at ${cut}`).toEqual(want);
    for (const size of [1, 2, 3, 7, 50]) {
      const cuts = Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => (i + 1) * size);
      expect(scanBytes(bytes, cuts), `chunks of ${size}`).toEqual(want);
    }
  });

  it('agrees with findSecrets on generated text cut into uneven chunks', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const bytes = Buffer.from(mixedText(seed, 14));
      const cuts = [];
      for (let at = (seed * 7) % 31; at < bytes.length; at += 1 + ((at * 13 + seed) % 97)) cuts.push(at);
      expect(scanBytes(bytes, cuts)).toEqual(findSecrets(bytes.toString('utf8')));
    }
  });

  it('gives the columns a decoder gives around invalid UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from([0xe2, 0x82, 0x20, 0xff, 0xf0, 0x9f]), Buffer.from(` ${KEY}\n`)]);
    for (let cut = 0; cut <= 8; cut++) expect(scanBytes(bytes, [cut])).toEqual(findSecrets(bytes.toString('utf8')));
  });
});
