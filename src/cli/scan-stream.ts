/**
 * `findSecrets` over bytes that arrive in chunks (a file read piece by piece, or stdin), without decoding them:
 * every shape is ASCII, so the UTF-8 bytes are searched for `sk-ant-` with Buffer's native indexOf. The scanner
 * keeps one window (the latest chunk after a carry-over of at most a key's length) and reuses it, so memory
 * stays flat however large the input. Positions are those `findSecrets` gives on the decoded text: lines are
 * counted as the window moves on, and a column (in UTF-16 code units) is worked out only for a finding.
 * The rules are detect.ts's (emphasis, escapes, placeholders, wrapped keys): the last LOOK_BEHIND bytes before
 * the window are kept for what precedes a prefix, a token that may still become a key (or a key's first line and
 * the next line) is carried into the next window, and an OAuth token longer than any key is followed across
 * windows keeping only its head, its last characters and whether its body so far is one character repeated.
 */
import { Buffer, isAscii } from 'node:buffer';
import {
  classifyToken,
  classifyWrapped,
  isOAuthStart,
  isTokenChar,
  keyHint,
  LONGEST_KEY,
  LOOK_BEHIND,
  lineBreakAt,
  maySecretLength,
  SECRET_PREFIX,
  type SecretFinding,
  type SecretKind,
  tokenStart,
  wrapNeeds,
} from '../core/leaks/detect.js';

const PREFIX = Buffer.from(SECRET_PREFIX, 'latin1');
const NEWLINE = 10;
const RETURN = 13;
const UNDERSCORE = 95;
const EMPTY = Buffer.alloc(0);
/** An OAuth token's body starts after `sk-ant-oat01-`. */
const OAUTH_BODY = 13;
/** Enough of a token's end to strip its emphasis and keep four characters for the hint. */
const TAIL = 8;
/** The shortest key the wrapped-key rule can join (a wrapped first part is shorter than this). */
const SHORTEST_WRAPPED = 110;

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

/** An OAuth token that reached the end of the window: its end (emphasis, placeholder, hint) is not yet known. */
interface OpenToken {
  finding: SecretFinding;
  /** Underscores of emphasis before it. */
  lead: number;
  head: string;
  /** The last TAIL characters so far, and how many characters so far. */
  tail: string;
  length: number;
  /** The body's first character (lower case; -1 none yet) and where one first differs from it (-1: none yet). */
  first: number;
  differs: number;
}

export class ByteSecretScanner {
  /** The reused window: the carry-over from the last chunk, then the chunk. */
  private window: Buffer = EMPTY;
  /** How many bytes at the start of the window are carried over. */
  private carried = 0;
  /** Offset in the whole input of window[0]. */
  private base = 0;
  /** The last LOOK_BEHIND bytes before window[0] (right-aligned; historyLength of them are real), for tokenStart. */
  private history = new Uint8Array(LOOK_BEHIND);
  private historyLength = 0;
  /** Newlines are counted up to `counted` (an offset in the whole input); its line is `line`, from lineStart. */
  private counted = 0;
  private line = 1;
  private lineStart = 0;
  /** The first newline at or after `counted` in the window once looked up (offset in the input); -1 none; -2 unknown. */
  private newline = -2;
  /** When the current line started before window[0]: UTF-16 units of its bytes up to `pending`, then bytes not yet decoded. */
  private lineUnits = 0;
  private pending: Buffer = EMPTY;
  /** UTF-16 units of every byte before window[0] but `allPending` (not yet decoded); for a finding's index. */
  private unitsBefore = 0;
  private allPending: Buffer = EMPTY;
  /** The last index worked out in this window: window offset (an ASCII byte) and its UTF-16 index; -1 none. */
  private indexedAt = -1;
  private indexedUnits = 0;
  private open: OpenToken | null = null;

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
    this.indexedAt = -1;
    if (this.newline === -1) this.newline = -2; // the chunk may have one
    const out: SecretFinding[] = [];
    let from = 0;
    if (this.open) {
      let end = 0;
      while (end < length && isTokenChar(buf[end]!)) end++;
      extend(this.open, buf, 0, end);
      if (end === length && !final) {
        this.drop(buf, length);
        return out;
      }
      const finding = close(this.open);
      if (finding) out.push(finding);
      this.open = null;
      from = end;
    }
    let i = buf.indexOf(PREFIX, from);
    while (i !== -1) {
      const lead = i > 0 && !isTokenChar(buf[i - 1]!) ? 0 : tokenStart(this.lookBehind(buf, i));
      if (lead < 0) {
        i = buf.indexOf(PREFIX, i + PREFIX.length);
        continue;
      }
      let end = i + PREFIX.length;
      while (end < length && isTokenChar(buf[end]!)) end++;
      if (end === length && !final) {
        // The token may go on in the next chunk.
        if (end - i <= LONGEST_KEY) {
          this.carryFrom(buf, i);
          return out;
        }
        if (isOAuthStart(buf.toString('latin1', i, i + OAUTH_BODY))) {
          const open: OpenToken = {
            finding: {
              kind: 'anthropic_oauth_token',
              ...this.position(buf, i),
              hint: '',
              index: this.indexAt(buf, i),
              length: 0,
            },
            lead,
            head: buf.toString('latin1', i, i + 16),
            tail: '',
            length: 0,
            first: -1,
            differs: -1,
          };
          extend(open, buf, i, end);
          this.open = open;
          this.drop(buf, length);
          return out;
        }
        break; // too long for a key, not an OAuth token: no secret, and none starts inside it
      }
      let next = end;
      let found: { kind: SecretKind; length: number } | null = null;
      if (maySecretLength(end - i)) found = classifyToken(buf.toString('latin1', i, end), lead);
      if (!found && end - i < SHORTEST_WRAPPED && end < length && (buf[end] === NEWLINE || buf[end] === RETURN)) {
        // A key wrapped over two lines?
        const first = buf.toString('latin1', i, end);
        const needs = wrapNeeds(first, 0, first.length, lead);
        if (needs) {
          if (end + 1 === length && !final) {
            this.carryFrom(buf, i); // the line break, or the next line, is in the next chunk
            return out;
          }
          const brk = lineBreakAt(buf[end]!, end + 1 < length ? buf[end + 1]! : -1);
          if (brk) {
            let end2 = end + brk;
            while (end2 < length && end2 <= end + brk + needs && isTokenChar(buf[end2]!)) end2++;
            if (end2 === length && !final) {
              this.carryFrom(buf, i);
              return out;
            }
            const kind = classifyWrapped(first, buf.toString('latin1', end + brk, end2), lead);
            if (kind) {
              found = { kind, length: end2 - lead - i };
              next = end2;
            }
          }
        }
      }
      if (found) {
        const secret = buf.toString('latin1', i, i + found.length).replace(/\r?\n/, '');
        out.push({
          kind: found.kind,
          ...this.position(buf, i),
          hint: keyHint(secret),
          index: this.indexAt(buf, i),
          length: found.length,
        });
      }
      // A prefix inside this token follows a token character: no secret starts before its end.
      i = buf.indexOf(PREFIX, next);
    }
    if (final) this.drop(buf, length);
    // The last bytes may begin a prefix that the next chunk completes.
    else this.carryFrom(buf, Math.max(0, length - (PREFIX.length - 1)));
    return out;
  }

  /** `back` for tokenStart at buf[i]: the window, then the bytes before it. */
  private lookBehind(buf: Buffer, i: number): (k: number) => number {
    const { history, historyLength } = this;
    return (k) => {
      if (k <= i) return buf[i - k]!;
      const j = k - i; // bytes before window[0]
      return j <= historyLength ? history[LOOK_BEHIND - j]! : -1;
    };
  }

  /** UTF-16 offset in the whole decoded input of buf[i] (an ASCII byte). */
  private indexAt(buf: Buffer, i: number): number {
    let n: number;
    if (this.indexedAt >= 0 && this.indexedAt <= i) n = this.indexedUnits + units(buf.subarray(this.indexedAt, i));
    else {
      const before = this.allPending.length ? Buffer.concat([this.allPending, buf.subarray(0, i)]) : buf.subarray(0, i);
      n = this.unitsBefore + units(before);
    }
    this.indexedAt = i;
    this.indexedUnits = n;
    return n;
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
    // Every byte that leaves: its UTF-16 length, and the last of them for tokenStart.
    const all = this.allPending.length ? Buffer.concat([this.allPending, buf.subarray(0, i)]) : buf.subarray(0, i);
    const allCut = safeCut(all);
    this.unitsBefore += units(all.subarray(0, allCut));
    this.allPending = Buffer.from(all.subarray(allCut));
    if (i >= LOOK_BEHIND) this.history.set(buf.subarray(i - LOOK_BEHIND, i));
    else {
      this.history.copyWithin(0, i);
      this.history.set(buf.subarray(0, i), LOOK_BEHIND - i);
    }
    this.historyLength = Math.min(LOOK_BEHIND, this.historyLength + i);
    this.indexedAt = -1;
    this.base += i;
  }
}

/** Takes in buf[from, end), more of an open OAuth token. */
function extend(open: OpenToken, buf: Buffer, from: number, end: number): void {
  if (open.differs === -1) {
    for (let p = from; p < end; p++) {
      const at = open.length + (p - from);
      if (at < OAUTH_BODY) continue;
      const c = buf[p]! | 0x20; // as isPlaceholderBody: letters in lower case, '-' and '_' left out
      if (c === 45 || c === 127) continue;
      if (open.first === -1) open.first = c;
      else if (c !== open.first) {
        open.differs = at;
        break;
      }
    }
  }
  open.tail = (open.tail + buf.toString('latin1', Math.max(from, end - TAIL), end)).slice(-TAIL);
  open.length += end - from;
}

/** The finding of an OAuth token now complete, or null (its emphasis is not closed, or it is a placeholder). */
function close(open: OpenToken): SecretFinding | null {
  const { lead, tail } = open;
  for (let k = 1; k <= lead; k++) if (tail.charCodeAt(tail.length - k) !== UNDERSCORE) return null;
  const length = open.length - lead;
  if (open.differs === -1 || open.differs >= length) return null; // a placeholder
  const last = tail.slice(0, tail.length - lead).slice(-4);
  return { ...open.finding, hint: `${open.head}...${last}`, length };
}
