/**
 * JSON.parse of a large body in bounded slices, giving the event loop a turn in between: a report page of a large
 * organization is many MB (30 MB for 168 hours of a 10,000-key organization), and one JSON.parse of it holds the
 * loop for 60–260 ms (issue 8: no stall over 50 ms).
 *
 * The body stays UTF-8 bytes: decoding 30 MB to one string (Response.text()) or joining decoded chunks holds the
 * loop for 20–25 ms by itself. Every character the scanner looks at (quotes, backslashes, brackets, commas, colons,
 * whitespace) is ASCII, and no byte of a multi-byte UTF-8 character is below 0x80, so the structure can be found in
 * the bytes; each slice is decoded on its own just before its JSON.parse. Slices start and end at value boundaries,
 * never inside a character, so decoding them one by one gives the same text as decoding the whole body.
 *
 * The result is the value JSON.parse(text) would return. How it is built:
 * - A value whose text is at most `sliceChars` long is handed to JSON.parse whole (found by a small scanner that
 *   knows strings, escapes and nesting, and gives up after `sliceChars` characters).
 * - A larger array is read element by element; consecutive small elements are parsed together, as one
 *   JSON.parse('[' + their text + ']') of at most `sliceChars` characters. A larger object is read member by member.
 *   Both recurse, so a report page splits at its `data` buckets and, inside a bucket, at its `results`, whatever
 *   their number, without knowing the report's fields (unknown fields are just more members).
 * - After every `turnChars` characters of work (scanned or parsed) the parse awaits nextTurn().
 * Only a single string longer than `sliceChars` (none in a report), or a value nested more than MAX_SPLIT_DEPTH
 * levels deep, is still scanned and parsed in one piece.
 *
 * Malformed text fails with a SyntaxError naming the offset, as JSON.parse's own error would: the scanner checks the
 * structure it splits at (separators, brackets, keys), and JSON.parse checks every slice it is given.
 */
import { nextTurn } from '../core/turn.js';

export interface ChunkedParseOptions {
  /** Longest text handed to one JSON.parse, in bytes (default 64 KiB, well under a millisecond). */
  sliceChars?: number;
  /** Bytes of work (scanned plus parsed) between two turns of the event loop (default 256 KiB). */
  turnChars?: number;
}

const DEFAULT_SLICE_CHARS = 64 * 1024;
const DEFAULT_TURN_CHARS = 256 * 1024;

/**
 * Levels of nesting split at most (a report page needs 4: page, data, bucket, results). Each level larger than a
 * slice costs a slice's worth of scanning before it is split, so without a bound a deeply nested body (hostile or
 * broken) cost depth × sliceChars: a 160 KB page of nested arrays took about a minute. Below this depth a value is
 * scanned and parsed whole, as JSON.parse would.
 */
const MAX_SPLIT_DEPTH = 16;

// Character codes the scanner looks at.
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const COMMA = 0x2c; // ,
const COLON = 0x3a; // :

const isWhitespace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Bytes of a response body copied into one buffer between two turns of the event loop. */
const COPY_BYTES_PER_TURN = 1024 * 1024;

/**
 * A response body's bytes in one buffer, read as they arrive and copied together 1 MiB per turn (one
 * Buffer.concat of 30 MB is itself a few ms).
 */
export async function readBodyBytes(res: Response): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  let sinceTurn = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
    sinceTurn += chunk.length;
    if (sinceTurn >= COPY_BYTES_PER_TURN) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  return out;
}

/**
 * Parses UTF-8 `bytes` (or a string, encoded first: for tests and small bodies) as JSON.parse would parse their
 * text, in slices, yielding to the event loop between them. A leading byte order mark is dropped and invalid UTF-8
 * replaced, as Response.text() does.
 */
export async function parseJsonInChunks(body: Uint8Array | string, opts: ChunkedParseOptions = {}): Promise<unknown> {
  let bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const p = new ChunkedParser(bytes, opts.sliceChars ?? DEFAULT_SLICE_CHARS, opts.turnChars ?? DEFAULT_TURN_CHARS);
  const { value, end } = await p.value(p.skipWhitespace(0));
  if (p.skipWhitespace(end) !== bytes.length) p.fail(p.skipWhitespace(end), 'unexpected text after the JSON value');
  return value;
}

interface Parsed {
  value: unknown;
  /** Offset just after the value's text. */
  end: number;
}

class ChunkedParser {
  /** Characters of work since the last turn of the event loop. */
  private work = 0;

  /** Decodes slices; ignoreBOM keeps a stray U+FEFF (not JSON whitespace) in the text for JSON.parse to refuse. */
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    private readonly text: Uint8Array,
    private readonly sliceChars: number,
    private readonly turnChars: number,
  ) {}

  fail(at: number, what: string): never {
    const near =
      at < this.text.length ? JSON.stringify(this.decode(at, Math.min(this.text.length, at + 12))) : 'the end';
    throw new SyntaxError(`Malformed JSON at byte ${at} (${what}, near ${near})`);
  }

  /** The text of bytes [start, end). */
  private decode(start: number, end: number): string {
    return this.decoder.decode(this.text.subarray(start, end));
  }

  skipWhitespace(i: number): number {
    const t = this.text;
    while (i < t.length && isWhitespace(t[i])) i++;
    return i;
  }

  /** Counts work done; true once a turn's worth is done, when the caller awaits nextTurn() (awaited only then:
   * an await per small element would cost a microtask each). */
  private due(chars: number): boolean {
    this.work += chars;
    if (this.work < this.turnChars) return false;
    this.work = 0;
    return true;
  }

  /**
   * The offset just after the value starting at `start`, or -1 when the value is longer than `limit` characters.
   * Only the structure is checked here (strings closed, brackets matched); the slice's content is checked by
   * JSON.parse. Fails when the text ends inside the value or a bracket is closed by the wrong kind.
   */
  private scanEnd(start: number, limit: number): number {
    const t = this.text;
    const stop = Math.min(t.length, start + limit);
    const first = t[start];
    if (first === QUOTE) return this.scanString(start, stop);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      // A number, true, false or null: runs to the next delimiter (JSON.parse checks the token itself).
      let i = start;
      while (i < stop) {
        const c = t[i];
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c)) break;
        if (c === QUOTE || c === OPEN_BRACE || c === OPEN_BRACKET || c === COLON) this.fail(i, 'unexpected character');
        i++;
      }
      if (i === start) this.fail(start, start >= t.length ? 'unexpected end' : 'a value was expected');
      if (i === stop && stop < t.length) return -1;
      return i;
    }
    // Brackets: a stack of the closers expected, so `[}` is caught here rather than mis-split.
    const closers: number[] = [];
    let i = start;
    while (i < stop) {
      const c = t[i];
      if (c === QUOTE) {
        i = this.scanString(i, stop);
        if (i < 0) return -1;
        continue;
      }
      if (c === OPEN_BRACE) closers.push(CLOSE_BRACE);
      else if (c === OPEN_BRACKET) closers.push(CLOSE_BRACKET);
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (closers.pop() !== c) this.fail(i, 'mismatched bracket');
        if (closers.length === 0) return i + 1;
      }
      i++;
    }
    if (stop < t.length) return -1;
    return this.fail(t.length, 'unexpected end');
  }

  /**
   * The offset just after the string starting at `start` (a quote), or -1 when it runs past `stop`. Jumps from
   * quote to quote (indexOf is native); a quote after an odd run of backslashes is escaped and does not end it.
   */
  private scanString(start: number, stop: number): number {
    const t = this.text;
    let i = start + 1;
    for (;;) {
      const q = t.indexOf(QUOTE, i);
      if (q < 0 || q >= stop) {
        if (stop < t.length) return -1;
        return this.fail(t.length, 'unterminated string');
      }
      let b = q - 1;
      while (t[b] === BACKSLASH) b--; // stops at the opening quote at the latest
      if ((q - 1 - b) % 2 === 0) return q + 1;
      i = q + 1;
    }
  }

  /** JSON.parse of text[start, end), counted as work. */
  private async parseSlice(start: number, end: number): Promise<unknown> {
    const value = JSON.parse(this.decode(start, end));
    if (this.due(end - start)) await nextTurn();
    return value;
  }

  /** The value starting at `start` (no whitespace before it), `depth` levels of splitting down. */
  async value(start: number, depth = 0): Promise<Parsed> {
    if (start >= this.text.length) this.fail(start, 'unexpected end');
    const end = this.scanEnd(start, this.sliceChars);
    if (this.due(end < 0 ? this.sliceChars : end - start)) await nextTurn();
    return end >= 0 ? { value: await this.parseSlice(start, end), end } : this.large(start, depth);
  }

  /** A value known to be longer than a slice. */
  private async large(start: number, depth: number): Promise<Parsed> {
    const c = this.text[start];
    if (depth < MAX_SPLIT_DEPTH) {
      if (c === OPEN_BRACKET) return this.array(start, depth);
      if (c === OPEN_BRACE) return this.object(start, depth);
    }
    // A single string (or token) longer than a slice cannot be split, nor is a value nested deeper than
    // MAX_SPLIT_DEPTH: scanned and parsed whole.
    const whole = this.scanEnd(start, Number.POSITIVE_INFINITY);
    return { value: await this.parseSlice(start, whole), end: whole };
  }

  /** A large array: small elements parsed in batches of at most sliceChars, large ones recursively. */
  private async array(start: number, depth: number): Promise<Parsed> {
    const t = this.text;
    const out: unknown[] = [];
    let i = this.skipWhitespace(start + 1);
    if (t[i] === CLOSE_BRACKET) return { value: out, end: i + 1 };
    // The batch of small elements not parsed yet: text[batchStart, batchEnd), elements with their commas.
    let batchStart = -1;
    let batchEnd = -1;
    const flush = async () => {
      if (batchStart < 0) return;
      const items = JSON.parse(`[${this.decode(batchStart, batchEnd)}]`) as unknown[];
      for (const item of items) out.push(item);
      const chars = batchEnd - batchStart;
      batchStart = -1;
      if (this.due(chars)) await nextTurn();
    };
    for (;;) {
      if (i >= t.length) this.fail(i, 'unexpected end');
      const end = this.scanEnd(i, this.sliceChars);
      if (end < 0) {
        // An element too large for one slice: the batch so far, then the element on its own.
        await flush();
        if (this.due(this.sliceChars)) await nextTurn();
        const big = await this.large(i, depth + 1);
        out.push(big.value);
        i = big.end;
      } else {
        if (batchStart >= 0 && end - batchStart > this.sliceChars) await flush();
        if (batchStart < 0) batchStart = i;
        batchEnd = end;
        if (this.due(end - i)) await nextTurn();
        i = end;
      }
      i = this.skipWhitespace(i);
      const c = t[i];
      if (c === COMMA) {
        i = this.skipWhitespace(i + 1);
        continue;
      }
      if (c === CLOSE_BRACKET) {
        await flush();
        return { value: out, end: i + 1 };
      }
      this.fail(i, 'expected , or ] in an array');
    }
  }

  /** A large object: member by member, each value parsed (or split further) on its own. */
  private async object(start: number, depth: number): Promise<Parsed> {
    const t = this.text;
    const out: Record<string, unknown> = {};
    let i = this.skipWhitespace(start + 1);
    if (t[i] === CLOSE_BRACE) return { value: out, end: i + 1 };
    for (;;) {
      if (t[i] !== QUOTE) this.fail(i, 'expected a string key');
      const keyEnd = this.scanString(i, t.length);
      const key = JSON.parse(this.decode(i, keyEnd)) as string;
      i = this.skipWhitespace(keyEnd);
      if (t[i] !== COLON) this.fail(i, 'expected :');
      const member = await this.value(this.skipWhitespace(i + 1), depth + 1);
      // JSON.parse makes "__proto__" an own property; a plain assignment would set the prototype instead.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: member.value, writable: true, enumerable: true, configurable: true });
      } else out[key] = member.value;
      i = this.skipWhitespace(member.end);
      const c = t[i];
      if (c === COMMA) {
        i = this.skipWhitespace(i + 1);
        continue;
      }
      if (c === CLOSE_BRACE) return { value: out, end: i + 1 };
      this.fail(i, 'expected , or } in an object');
    }
  }
}
