/** Test helpers for the secret detector: its specification as regular expressions, and generated text. */
import { keyHint } from '../../src/core/leaks/detect.js';

/** The shapes as admin-api.md §5 gives them (gitleaks), applied with regular expressions over the whole text. */
export function byPatterns(text: string) {
  const patterns = [
    ['anthropic_api_key', /(?<![A-Za-z0-9_-])sk-ant-api03-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])/g],
    ['anthropic_admin_key', /(?<![A-Za-z0-9_-])sk-ant-admin01-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])/g],
    ['anthropic_oauth_token', /(?<![A-Za-z0-9_-])sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,}/g],
  ] as const;
  const found = patterns.flatMap(([kind, re]) =>
    [...text.matchAll(re)].map((m) => {
      const before = text.slice(0, m.index);
      const line = before.split('\n').length;
      return { kind, line, column: m.index - (before.lastIndexOf('\n') + 1) + 1, hint: keyHint(m[0]), at: m.index };
    }),
  );
  return found.sort((a, b) => a.at - b.at).map(({ at: _, ...f }) => f);
}

/** Deterministic pseudo-random text made of keys, near misses and separators. */
export function mixedText(seed: number, pieces: number): string {
  let s = seed;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const token = (n: number) => Array.from({ length: n }, () => chars[Math.floor(rnd() * 64)]).join('');
  const makers = [
    () => `sk-ant-api03-${token(93)}AA`,
    () => `sk-ant-admin01-${token(93)}AA`,
    () => `sk-ant-oat01-${token(40 + Math.floor(rnd() * 200))}`,
    () => `sk-ant-ort01-${token(38 + Math.floor(rnd() * 4))}`,
    () => `sk-ant-api03-${token(92 + Math.floor(rnd() * 3))}AA`,
    () => `sk-ant-admin01-${token(93)}A`,
    () => 'sk-ant-',
    () => 'sk-ant-sk-ant-',
    () => '\n',
    () => '\r\n',
    () => ' ',
    () => 'é😀',
    () => token(Math.floor(rnd() * 12)),
  ];
  let text = '';
  for (let i = 0; i < pieces; i++) text += makers[Math.floor(rnd() * makers.length)]!();
  return text;
}
