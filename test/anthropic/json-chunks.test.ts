/**
 * The sliced JSON parse of report pages (src/anthropic/json-chunks.ts): the same value as JSON.parse of the whole
 * body, whatever the slice size (1 byte slices force a split at every level), for escapes, nesting, whitespace,
 * unknown fields and generated report pages; malformed text refused like JSON.parse refuses it; and a large page
 * parsed in many bounded slices with turns of the event loop in between, never in one piece.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseJsonInChunks } from '../../src/anthropic/json-chunks.js';

/** Slice sizes from "split everything" to the default. */
const SLICES = [1, 2, 7, 64, 1024, undefined];

async function expectSameAsJsonParse(text: string): Promise<void> {
  const expected = JSON.parse(text);
  for (const sliceChars of SLICES) {
    const opts = sliceChars ? { sliceChars, turnChars: sliceChars * 4 } : {};
    expect(await parseJsonInChunks(text, opts), `sliceChars ${sliceChars}`).toEqual(expected);
    // Bytes, as the reports client passes them.
    expect(await parseJsonInChunks(new TextEncoder().encode(text), opts)).toEqual(expected);
  }
}

/** A small deterministic PRNG (mulberry32), so a failure can be reproduced from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '\t', 'é', '😀', '\u0000', '\u2028', 'a', '/'];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += TRICKY[Math.floor(r() * TRICKY.length)];
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 5 : 7));
  if (k === 0) return null;
  if (k === 1) return r() < 0.5;
  if (k === 2) return r() < 0.5 ? Math.floor(r() * 1e6) - 5e5 : (r() - 0.5) * 1e-3;
  if (k === 3 || k === 4) return randomString(r);
  if (k === 5) return Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 6); i > 0; i--) o[randomString(r)] = randomValue(r, depth + 1);
  return o;
}

/** Serializes with random whitespace between tokens (JSON.stringify with an indent, then some spaces swapped). */
function withWhitespace(v: unknown, r: () => number): string {
  const pretty = JSON.stringify(v, null, r() < 0.5 ? 2 : '\t');
  return `${r() < 0.5 ? ' \r\n' : ''}${pretty}${r() < 0.5 ? '\n\t ' : ''}`;
}

/** A usage report page like the API's, with fields the client does not know at every level. */
function usagePage(r: () => number, buckets: number, resultsPerBucket: number): unknown {
  const start = Date.UTC(2026, 10, 1);
  return {
    data: Array.from({ length: buckets }, (_, b) => ({
      starting_at: new Date(start + b * 3_600_000).toISOString(),
      ending_at: new Date(start + (b + 1) * 3_600_000).toISOString(),
      bucket_extra: { note: 'unknown "field" {with} [brackets]', list: [] },
      results: Array.from({ length: resultsPerBucket }, (_, i) => ({
        uncached_input_tokens: Math.floor(r() * 1e7),
        cache_read_input_tokens: Math.floor(r() * 1e6),
        cache_creation: { ephemeral_5m_input_tokens: Math.floor(r() * 1e5), ephemeral_1h_input_tokens: 0 },
        output_tokens: Math.floor(r() * 1e6),
        server_tool_use: { web_search_requests: Math.floor(r() * 10) },
        api_key_id: `apikey_${(i * 7919 + b).toString(36).padStart(12, '0')}`,
        workspace_id: r() < 0.1 ? null : `wrkspc_${(i % 100).toString(36).padStart(10, '0')}`,
        model: r() < 0.5 ? 'claude-opus-4-6' : 'claude-sonnet-4-5',
        service_tier: 'standard',
        context_window: '0-200k',
        brand_new_dimension: randomString(r),
      })),
    })),
    has_more: r() < 0.5,
    next_page: r() < 0.5 ? null : `page_${Math.floor(r() * 1e9)}`,
    page_extra: [{ deep: { deeper: [1, 2, { deepest: '\\"}]' }] } }],
  };
}

describe('same value as JSON.parse', () => {
  it('strings with escaped quotes and backslashes, brackets and braces inside, unicode escapes, raw UTF-8', async () => {
    await expectSameAsJsonParse(
      String.raw`{"a\"b": "x\"y", "c\\": "\\", "d": "\\\"", "e": "{[}]", "f": ["]", "}", "{"]}`,
    );
    await expectSameAsJsonParse(String.raw`["\u0041\u00e9\ud83d\ude00", "\/", "\b\f\n\r\t", "tail\\\\"]`);
    await expectSameAsJsonParse('{"é": "über 😀", "日本": ["語", {"ключ": "значение"}]}');
    await expectSameAsJsonParse(String.raw`"just a string with \" and \\"`);
  });

  it('nested objects, empty arrays and objects, scalars, whitespace everywhere', async () => {
    await expectSameAsJsonParse('{"a":{"b":{"c":{"d":[[[]],{},[{}]]}}},"e":[],"f":{}}');
    await expectSameAsJsonParse(
      ' \n\t{ "a" : [ 1 , 2.5e3 , -0 , true , false , null ] ,\r\n "b" : { } , "c" : [ ] } \n',
    );
    await expectSameAsJsonParse('[]');
    await expectSameAsJsonParse('{}');
    await expectSameAsJsonParse('123');
    await expectSameAsJsonParse(' null ');
    await expectSameAsJsonParse('[1e400, -1e-400, 12345678901234567890]');
  });

  it('unknown fields at every level of a report page, and duplicate keys (the last one wins)', async () => {
    await expectSameAsJsonParse(JSON.stringify(usagePage(rng(1), 3, 5)));
    await expectSameAsJsonParse('{"data":[{"results":[{"a":1,"a":2}],"results":[]}],"has_more":false,"has_more":true}');
  });

  it('a "__proto__" key is an own property, as JSON.parse makes it, not the prototype', async () => {
    const text = '{"__proto__": {"polluted": true}, "data": [{"__proto__": []}]}';
    for (const sliceChars of SLICES) {
      const v = (await parseJsonInChunks(text, sliceChars ? { sliceChars } : {})) as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.keys(v)).toEqual(['__proto__', 'data']);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    }
  });

  it('a leading byte order mark is dropped, like Response.text() drops it', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"data":[]}')]);
    expect(await parseJsonInChunks(bytes, { sliceChars: 2 })).toEqual({ data: [] });
  });

  it('randomized values with random whitespace', async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      await expectSameAsJsonParse(withWhitespace(randomValue(r, 0), r));
    }
  });

  it('generated report pages of various shapes', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const text = JSON.stringify(usagePage(r, 1 + Math.floor(r() * 12), Math.floor(r() * 60)));
      await expectSameAsJsonParse(seed % 2 ? text : withWhitespace(JSON.parse(text), r));
    }
  });
});

describe('malformed text', () => {
  const BAD = [
    '',
    '   ',
    '{',
    '[',
    '[1,]',
    '[1 2]',
    '[1,,2]',
    '{"a" 1}',
    '{"a":1,}',
    '{"a":1 "b":2}',
    '{a:1}',
    '[}',
    '{"a":[1}',
    '{"a":1]',
    '"abc',
    String.raw`["abc\"]`,
    '[1]x',
    '[1] [2]',
    'tru',
    '[nul]',
    '{"data":[{"results":[{"x":1},{"y":]}]}',
    '{"data":[{"results":[{"x":1},{"y":2}',
    '[1,\uFEFF2]',
    '["\u0001"]',
  ];

  it('is refused with a SyntaxError wherever it is split, as JSON.parse refuses it', async () => {
    for (const text of BAD) {
      expect(() => JSON.parse(text), text).toThrow(SyntaxError);
      for (const sliceChars of SLICES) {
        await expect(
          parseJsonInChunks(text, sliceChars ? { sliceChars } : {}),
          `${text} / ${sliceChars}`,
        ).rejects.toThrow(SyntaxError);
      }
    }
  });

  it('a page cut off in the middle of a large bucket fails, naming the offset', async () => {
    const text = JSON.stringify(usagePage(rng(5), 4, 500));
    await expect(parseJsonInChunks(text.slice(0, Math.floor(text.length * 0.7)))).rejects.toThrow(
      /Malformed JSON at byte \d+/,
    );
  });
});

describe('a large page is parsed in bounded slices, with turns of the event loop in between', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /**
   * Parses `text` while counting the turns of the event loop (a setImmediate chain scheduled before the parse
   * starts) and the text handed to JSON.parse: the longest single piece and the most between two turns.
   */
  async function parseObserved(text: string) {
    const realParse = JSON.parse;
    let longestPiece = 0;
    let sinceTurn = 0;
    let mostBetweenTurns = 0;
    vi.spyOn(JSON, 'parse').mockImplementation((s: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      longestPiece = Math.max(longestPiece, s.length);
      sinceTurn += s.length;
      mostBetweenTurns = Math.max(mostBetweenTurns, sinceTurn);
      return realParse(s, reviver);
    });
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      sinceTurn = 0;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const value = await parseJsonInChunks(text);
    done = true;
    vi.restoreAllMocks();
    return { value, turns, longestPiece, mostBetweenTurns };
  }

  it('a 168-bucket page of several MB: many turns, no JSON.parse of more than a slice', async () => {
    const page = usagePage(rng(7), 168, 80);
    const text = JSON.stringify(page);
    expect(text.length).toBeGreaterThan(5_000_000);
    const seen = await parseObserved(text);
    expect(seen.value).toEqual(page);
    // 256 KiB of work per turn (each byte is scanned and parsed): well over one turn per 512 KiB of page.
    expect(seen.turns).toBeGreaterThan(text.length / (512 * 1024));
    expect(seen.longestPiece).toBeLessThanOrEqual(64 * 1024 + 2);
    expect(seen.mostBetweenTurns).toBeLessThanOrEqual(2 * 256 * 1024);
  });

  it('a single bucket of 20,000 results is split too', async () => {
    const page = usagePage(rng(8), 1, 20_000);
    const text = JSON.stringify(page);
    const seen = await parseObserved(text);
    expect(seen.value).toEqual(page);
    expect(seen.turns).toBeGreaterThan(text.length / (512 * 1024));
    expect(seen.longestPiece).toBeLessThanOrEqual(64 * 1024 + 2);
  });
});

describe('a hostile page cannot make the parse take much longer than JSON.parse', () => {
  // Every level of a value larger than a slice used to scan a slice's worth of text before being split: a page
  // nested deeply (each level larger than a slice) cost depth × 64 KiB of scanning (a 160 KB page: about a minute).
  // A hang guard, not a speed measurement: before the depth limit this page took minutes (depth × 64 KiB of
  // scanning), so the test's own timeout fails it; linear work finishes far inside it.
  it('deep nesting, well-formed or cut off, is parsed (or refused) without rescanning each level', async () => {
    const depth = 200_000;
    const text = `{"data":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
    // Walked down level by level (a recursive comparison would overflow the stack).
    let value = ((await parseJsonInChunks(text)) as { data: unknown }).data;
    for (let level = 0; level < depth; level++) {
      expect(Array.isArray(value) && value.length === 1, `level ${level}`).toBe(true);
      value = (value as unknown[])[0];
    }
    expect(value).toBe(1);
    await expect(parseJsonInChunks(`{"data":${'['.repeat(depth)}`)).rejects.toThrow(SyntaxError);
    await expect(parseJsonInChunks(`{"data":${'{"a":'.repeat(depth)}1`)).rejects.toThrow(SyntaxError);
  }, 20_000);
});
