/**
 * Neutral Reply → a Discord message body (embeds + components). Limits from Discord's "Embed Limits"
 * and "Message Components" docs: title 256, description 4096, 25 fields (name 256, value 1024), footer 2048,
 * 6000 characters across embeds, 5 action rows of 5 buttons, custom_id ≤ 100, label ≤ 80.
 */
import type { Reply } from '../core/command/reply.js';

const TONE_COLOR: Record<Reply['tone'], number> = {
  info: 0x5865f2,
  success: 0x57f287,
  warning: 0xfee75c,
  error: 0xed4245,
};
const EPHEMERAL = 1 << 6;

export interface DiscordMessage {
  content?: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  flags?: number;
  allowed_mentions: { parse: string[] };
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const MAX_DESCRIPTION = 4096;
const MAX_EMBEDS_TOTAL = 6000;
const TOO_LONG =
  '\n\n…this reply was too long for one Discord message and was shortened; narrow it with options or pages.';

/** Pieces of at most `max` characters, cut at a blank line, else a line break, else anywhere. */
function splitText(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const head = rest.slice(0, max);
    let at = head.lastIndexOf('\n\n');
    if (at < max / 2) at = head.lastIndexOf('\n');
    if (at < max / 2) at = max;
    out.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).replace(/^\n+/, '');
  }
  if (rest) out.push(rest);
  return out;
}

export function renderDiscord(reply: Reply): DiscordMessage {
  const text: string[] = [];
  const fields: { name: string; value: string; inline: boolean }[] = [];
  const footer: string[] = [];
  const components: Record<string, unknown>[] = [];
  for (const b of reply.blocks) {
    switch (b.type) {
      case 'text':
        text.push(b.text);
        break;
      case 'fields':
        for (const f of b.fields)
          fields.push({ name: cut(f.label, 256), value: cut(f.value || '—', 1024), inline: true });
        break;
      case 'context':
        footer.push(b.text);
        break;
      case 'divider':
        text.push('');
        break;
      case 'actions':
        for (let i = 0; i < b.buttons.length && components.length < 5; i += 5) {
          components.push({
            type: 1,
            components: b.buttons.slice(i, i + 5).map((btn) => ({
              type: 2,
              custom_id: btn.id,
              label: cut(btn.label, 80),
              style: btn.style === 'danger' ? 4 : btn.style === 'primary' ? 1 : 2,
            })),
          });
        }
        break;
    }
  }
  let description = text.join('\n\n');
  // Context lines go under the text (embed footers cannot hold markup such as `code`).
  if (footer.length) description += `${description ? '\n\n' : ''}${footer.join('\n')}`;
  const title = reply.title ? cut(reply.title.replace(/\*\*/g, ''), 256) : undefined;
  const kept = fields.slice(0, 25);
  // A message's embeds hold 6000 characters in all (titles, descriptions, fields): what is longer is shortened,
  // and says so.
  const room = MAX_EMBEDS_TOTAL - (title?.length ?? 0) - kept.reduce((n, f) => n + f.name.length + f.value.length, 0);
  if (description.length > room)
    description = `${description.slice(0, Math.max(0, room - TOO_LONG.length))}${TOO_LONG}`;
  // One embed's description holds 4096: a longer text goes on in further embeds, split between lines.
  const parts = splitText(description, MAX_DESCRIPTION);
  const embeds: Record<string, unknown>[] = parts.map((part, i) => ({
    color: TONE_COLOR[reply.tone],
    ...(i === 0 && title ? { title } : {}),
    ...(part ? { description: part } : {}),
  }));
  if (embeds.length === 0) embeds.push({ color: TONE_COLOR[reply.tone], ...(title ? { title } : {}) });
  if (kept.length) embeds[embeds.length - 1]!.fields = kept;
  return {
    embeds,
    components,
    ...(reply.visibility === 'ephemeral' ? { flags: EPHEMERAL } : {}),
    // Never ping anyone by accident: names and emails in replies are text, not mentions.
    allowed_mentions: { parse: [] },
  };
}

/** One file of a multipart message, in @discordjs/rest's RawFile shape (`files[n]` in the form). */
export interface DiscordFile {
  key: string;
  name: string;
  data: Uint8Array;
  contentType: string;
}

/**
 * A reply's files as Discord takes them: each file is a `files[n]` part of a multipart request (next to the JSON
 * body in `payload_json`), and the body's `attachments` entry with the same `id` gives its name and alt text
 * (`description`, at most 1024 characters). Empty when the reply has no files, so the request stays JSON.
 */
export function discordFiles(reply: Reply): {
  attachments?: { id: number; filename: string; description: string }[];
  files?: DiscordFile[];
} {
  if (!reply.files?.length) return {};
  const files = reply.files.slice(0, 10); // Discord takes at most 10 attachments per message.
  return {
    attachments: files.map((f, i) => ({ id: i, filename: f.name, description: cut(f.alt, 1024) })),
    files: files.map((f, i) => ({ key: `files[${i}]`, name: f.name, data: f.data, contentType: f.contentType })),
  };
}
