/**
 * Text widths from a TrueType font's own metrics, for ECharts' layout on the server. Without a canvas, ECharts
 * guesses widths from a table made for a browser's default sans-serif, much narrower than DejaVu Sans, so legend
 * entries ran into each other. This reads each glyph's advance width from the font file (`cmap` format 4 for
 * the character → glyph map, `hmtx` for the advances), which is what resvg uses to draw the text. Kerning is
 * ignored: it moves a string by a pixel or two, and layout needs no more.
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  /** Width of `text` at `size` pixels. */
  width(text: string, size: number): number;
}

function tables(buf: Buffer): Map<string, { offset: number; length: number }> {
  const n = buf.readUInt16BE(4);
  const out = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < n; i++) {
    const rec = 12 + i * 16;
    out.set(buf.toString('latin1', rec, rec + 4), {
      offset: buf.readUInt32BE(rec + 8),
      length: buf.readUInt32BE(rec + 12),
    });
  }
  return out;
}

/** Character code → glyph index, from the Windows Unicode BMP subtable (format 4). */
function cmap4(buf: Buffer, cmapOffset: number): (code: number) => number {
  const count = buf.readUInt16BE(cmapOffset + 2);
  let sub = -1;
  for (let i = 0; i < count; i++) {
    const rec = cmapOffset + 4 + i * 8;
    const platform = buf.readUInt16BE(rec);
    const encoding = buf.readUInt16BE(rec + 2);
    const at = cmapOffset + buf.readUInt32BE(rec + 4);
    if (((platform === 3 && encoding === 1) || platform === 0) && buf.readUInt16BE(at) === 4) {
      sub = at;
      if (platform === 3) break;
    }
  }
  if (sub < 0) throw new Error('font has no Unicode BMP cmap (format 4)');
  const segX2 = buf.readUInt16BE(sub + 6);
  const ends = sub + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const rangeOffsets = deltas + segX2;
  return (code) => {
    for (let s = 0; s < segX2; s += 2) {
      if (buf.readUInt16BE(ends + s) < code) continue;
      const start = buf.readUInt16BE(starts + s);
      if (start > code) return 0;
      const delta = buf.readInt16BE(deltas + s);
      const ro = buf.readUInt16BE(rangeOffsets + s);
      if (ro === 0) return (code + delta) & 0xffff;
      const g = buf.readUInt16BE(rangeOffsets + s + ro + (code - start) * 2);
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}

export function loadFontMetrics(file: string): FontMetrics {
  const buf = readFileSync(file);
  const t = tables(buf);
  const need = (tag: string) => {
    const v = t.get(tag);
    if (!v) throw new Error(`font ${file} has no ${tag} table`);
    return v.offset;
  };
  const unitsPerEm = buf.readUInt16BE(need('head') + 18);
  const numberOfHMetrics = buf.readUInt16BE(need('hhea') + 34);
  const hmtx = need('hmtx');
  const glyphOf = cmap4(buf, need('cmap'));
  const advance = (glyph: number) => buf.readUInt16BE(hmtx + Math.min(glyph, numberOfHMetrics - 1) * 4);
  const cache = new Map<number, number>();
  const em = (code: number) => {
    let w = cache.get(code);
    if (w === undefined) {
      // Outside the BMP: about the width of an average glyph. A BMP character the font lacks gets glyph 0's width.
      w = code > 0xffff ? 0.6 : advance(glyphOf(code)) / unitsPerEm;
      cache.set(code, w);
    }
    return w;
  };
  return {
    width(text, size) {
      let total = 0;
      for (const ch of text) total += em(ch.codePointAt(0)!);
      return total * size;
    },
  };
}
