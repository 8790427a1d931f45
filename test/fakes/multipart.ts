/**
 * multipart/form-data (RFC 7578) as the fakes receive it from real clients (undici's FormData for Slack's upload
 * URL, @discordjs/rest for Discord attachments). Binary-safe: parts are cut on the boundary as bytes, never decoded.
 */
export interface FormPart {
  /** The form field name (`files[0]`, `payload_json`, `body`). */
  name: string;
  /** Set for file parts. */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType?.toLowerCase().startsWith('multipart/form-data')) return null;
  const m = contentType.match(/boundary=(?:"([^"]+)"|([^;\s]+))/i);
  return m ? (m[1] ?? m[2]!) : null;
}

/** Throws on a body that is not well-formed multipart with this boundary (a real server answers 400). */
export function parseMultipart(raw: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let at = raw.indexOf(delimiter);
  if (at < 0) throw new Error('multipart: no boundary');
  for (;;) {
    at += delimiter.length;
    // The closing delimiter is followed by `--`.
    if (raw[at] === 0x2d && raw[at + 1] === 0x2d) return parts;
    if (raw[at] !== 0x0d || raw[at + 1] !== 0x0a) throw new Error('multipart: bad delimiter line');
    const headEnd = raw.indexOf('\r\n\r\n', at + 2);
    if (headEnd < 0) throw new Error('multipart: part without headers');
    const head = raw.toString('utf8', at + 2, headEnd);
    const next = raw.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) throw new Error('multipart: no closing boundary');
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new Error('multipart: part without a name');
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    const contentType = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim();
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(contentType ? { contentType } : {}),
      data: raw.subarray(headEnd + 4, next),
    });
    at = next + 2;
  }
}
