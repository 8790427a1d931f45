/**
 * `findSecrets` over bytes that arrive in chunks (a file read piece by piece, or stdin), without decoding them:
 * every shape is ASCII, so the UTF-8 bytes are searched for `sk-ant-` with Buffer's native indexOf. The scanner
 * keeps one window (the latest chunk after a carry-over of at most a key's length) and reuses it, so memory
 * stays flat however large the input. Positions are those `findSecrets` gives on the decoded text: lines are
 * counted as the window moves on, and a column (in UTF-16 code units) is worked out only for a finding.
 */
import { Buffer, isAscii } from 'node:buffer';
import {
  classifySecret,
  isOAuthTokenSoFar,
  isTokenChar,
  keyHint,
  LONGEST_KEY,
  maySecretLength,
  SECRET_PREFIX,
  type SecretFinding,
} from '../core/leaks/detect.js';

const PREFIX = Buffer.from(SECRET_PREFIX, 'latin1');
const NEWLINE = 10;
const EMPTY = Buffer.alloc(0);

/** UTF-16 length of some UTF-8 bytes, decoded as Buffer#toString decodes them. */
function units(bytes: Buffer): number {
  return isAscii(bytes) ? bytes.length : bytes.toString('utf8').length;
}

/**
 * Where bytes may be cut without changing how the text decodes: before the last lead byte of the final three
 * (its character may go on), else at the end. A decoder is back in its first state before any lead byte.
 */
function safeCut(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) if (bytes[i]! >= 0xc0) return i;
  return bytes.length;
}

export class ByteSecretScanner {
  /** The reused window: the carry-over from the last chunk, then the chunk. */
  private window: Buffer = EMPTY;
  /** How many bytes at the start of the window are carried over. */
  private carried = 0;
  /** Offset in the whole input of window[0]. */
  private base = 0;
  /** The byte just before window[0] (-1 at the start), for the token boundary. */
  private before = -1;
  /** Newlines are counted up to `counted` (an offset in the whole input); its line is `line`, from lineStart. */
  private counted = 0;
  private line = 1;
  private lineStart = 0;
  /** The first newline at or after `counted` in the window once looked up (offset in the input); -1 none; -2 unknown. */
  private newline = -2;
  /** When the current line started before window[0]: UTF-16 units of its bytes up to `pending`, then bytes not yet decoded. */
  private lineUnits = 0;
  private pending: Buffer = EMPTY;
  /** An OAuth token that reached the end of the window: found, but its last four characters are not yet known. */
  private open: { finding: SecretFinding; head: string; tail: string } | null = null;

  /** Scans the next chunk (copied: the caller may reuse it); returns the findings completed so far. */
  push(chunk: Uint8Array): SecretFinding[] {
    return this.scan(chunk, false);
  }

  /** The end of the input: the findings still pending. */
  end(): SecretFinding[] {
    return this.scan(EMPTY, true);
  }

  private scan(chunk: Uint8Array, final: boolean): SecretFinding[] {
    const length = this.carried + chunk.length;
    if (this.window.length < length) {
      const bigger = Buffer.allocUnsafe(Math.max(length, this.window.length * 2));
      this.window.copy(bigger, 0, 0, this.carried);
      this.window = bigger;
    }
    this.window.set(chunk, this.carried);
    const buf = this.window.subarray(0, length);
    this.carried = 0;
    if (this.newline === -1) this.newline = -2; // the chunk may have one
    const out: SecretFinding[] = [];
    let from = 0;
    if (this.open) {
      let end = 0;
      while (end < length && isTokenChar(buf[end]!)) end++;
      const tail = this.open.tail + buf.toString('latin1', Math.max(0, end - 4), end);
      if (end === length && !final) {
        this.open.tail = tail.slice(-4);
        this.drop(buf, length);
        return out;
      }
      this.open.finding.hint = `${this.open.head}...${tail.slice(-4)}`;
      out.push(this.open.finding);
      this.open = null;
      from = end;
    }
    let i = buf.indexOf(PREFIX, from);
    while (i !== -1) {
      if (isTokenChar(i > 0 ? buf[i - 1]! : this.before)) {
        i = buf.indexOf(PREFIX, i + PREFIX.length);
        continue;
      }
      let end = i + PREFIX.length;
      while (end < length && isTokenChar(buf[end]!)) end++;
      if (end === length && !final) {
        // The token may go on in the next chunk.
        const sofar = buf.toString('latin1', i, end);
        if (isOAuthTokenSoFar(sofar)) {
          const finding: SecretFinding = { kind: 'anthropic_oauth_token', ...this.position(buf, i), hint: '' };
          this.open = { finding, head: sofar.slice(0, 16), tail: sofar.slice(-4) };
          this.drop(buf, length);
          return out;
        }
        if (sofar.length <= LONGEST_KEY) {
          this.carryFrom(buf, i);
          return out;
        }
        break; // too long for a key, not an OAuth token: no secret, and none starts inside it
      }
      if (maySecretLength(end - i)) {
        const token = buf.toString('latin1', i, end);
        const kind = classifySecret(token);
        if (kind) out.push({ kind, ...this.position(buf, i), hint: keyHint(token) });
      }
      // A prefix inside this token follows a token character: no secret starts before its end.
      i = buf.indexOf(PREFIX, end);
    }
    if (final) this.drop(buf, length);
    // The last bytes may begin a prefix that the next chunk completes.
    else this.carryFrom(buf, Math.max(0, length - (PREFIX.length - 1)));
    return out;
  }

  /** Line and column of buf[i] (an ASCII byte), counting newlines from where the last count stopped. */
  private position(buf: Buffer, i: number): { line: number; column: number } {
    this.countTo(buf, i);
    const start = this.lineStart - this.base;
    const before =
      start >= 0
        ? units(buf.subarray(start, i))
        : this.lineUnits + units(Buffer.concat([this.pending, buf.subarray(0, i)]));
    return { line: this.line, column: before + 1 };
  }

  private countTo(buf: Buffer, i: number): void {
    const base = this.base;
    let nl = this.newline === -2 ? buf.indexOf(NEWLINE, this.counted - base) : this.newline - base;
    if (nl >= 0 && nl < i) {
      let line = this.line;
      while (nl !== -1 && nl < i) {
        line++;
        this.lineStart = base + nl + 1;
        nl = buf.indexOf(NEWLINE, nl + 1);
      }
      this.line = line;
    }
    this.newline = nl === -1 ? -1 : base + nl;
    this.counted = base + i;
  }

  /** Moves the window on to buf[i], after counting the newlines before it; the bytes from i are kept. */
  private carryFrom(buf: Buffer, i: number): void {
    this.drop(buf, i);
    buf.copy(this.window, 0, i);
    this.carried = buf.length - i;
  }

  private drop(buf: Buffer, i: number): void {
    if (i === 0) return;
    this.countTo(buf, i);
    // The part of the current line that leaves the window: keep its length in UTF-16 units.
    const start = this.lineStart - this.base;
    const leaving =
      start > 0 || this.pending.length === 0
        ? buf.subarray(Math.max(start, 0), i)
        : Buffer.concat([this.pending, buf.subarray(0, i)]);
    if (start > 0) this.lineUnits = 0;
    const cut = safeCut(leaving);
    this.lineUnits += units(leaving.subarray(0, cut));
    this.pending = Buffer.from(leaving.subarray(cut));
    this.before = buf[i - 1]!;
    this.base += i;
  }
}
