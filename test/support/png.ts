/** Reading a PNG the way an image viewer would start: the signature, then the IHDR chunk (RFC 2083 §11.2.2). */
import { inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Throws unless the bytes start with the PNG signature and an IHDR chunk. */
export function pngInfo(bytes: Uint8Array): PngInfo {
  if (!isPng(bytes)) throw new Error('not a PNG: bad signature');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.toString('latin1', 12, 16) !== 'IHDR' || b.readUInt32BE(8) !== 13) throw new Error('not a PNG: no IHDR first');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24]!, colorType: b[25]! };
}

/**
 * The share of pixels that are not (near) white, from the decoded image data: 8-bit RGBA or RGB, non-interlaced
 * (what resvg writes). Enough to tell an empty picture from a drawn one.
 */
export function inkShare(bytes: Uint8Array): number {
  const info = pngInfo(bytes);
  if (info.bitDepth !== 8 || (info.colorType !== 6 && info.colorType !== 2)) throw new Error('unsupported PNG format');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Buffer[] = [];
  for (let at = 8; at < b.length; ) {
    const len = b.readUInt32BE(at);
    if (b.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(b.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = info.colorType === 6 ? 4 : 3;
  const stride = info.width * bpp;
  let prev = Buffer.alloc(stride);
  let ink = 0;
  for (let y = 0; y < info.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? line[x - bpp]! : 0;
      const up = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = up;
      else if (filter === 3) add = (a + up) >> 1;
      else if (filter === 4) {
        const p = a + up - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      }
      line[x] = (line[x]! + add) & 0xff;
    }
    for (let x = 0; x < stride; x += bpp) if (line[x]! < 230 || line[x + 1]! < 230 || line[x + 2]! < 230) ink++;
    prev = line;
  }
  return ink / (info.width * info.height);
}
