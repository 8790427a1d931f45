/**
 * The neutral reply every command returns. Adapters render it (Slack Block Kit, Discord embeds).
 * Text uses a tiny markup both platforms can express: **bold**, `code`, and [label](url) links.
 * Values that came from users or the API must go through `md.escape` / `md.code` before being embedded.
 */
export type Tone = 'info' | 'success' | 'warning' | 'error';

export interface Button {
  /** Opaque action id; the server looks the action up, never trusting anything else in the click. */
  id: string;
  label: string;
  style?: 'primary' | 'danger';
}

export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'fields'; fields: { label: string; value: string }[] }
  | { type: 'context'; text: string }
  | { type: 'divider' }
  | { type: 'actions'; buttons: Button[] };

/**
 * A file sent with a message, such as the digest's chart. The message's text must stand on its own without it:
 * a platform may not carry files everywhere (a Slack slash-command response cannot), and an upload can fail.
 */
export interface ReplyFile {
  /** File name, with its extension (`cost-2026-11-25.png`); Discord shows it, Slack keeps it with the file. */
  name: string;
  /** Slack shows it above the image; Discord has no title (the name is shown). */
  title: string;
  /** Alternative text for screen readers: Slack's alt text, Discord's attachment description (≤ 1000 characters). */
  alt: string;
  contentType: 'image/png';
  data: Uint8Array;
}

export interface Reply {
  /** Only the caller sees an ephemeral reply. */
  visibility: 'ephemeral' | 'in_channel';
  tone: Tone;
  title?: string;
  blocks: ReplyBlock[];
  /** Plain-text fallback used for notifications and screen readers. */
  summary: string;
  /**
   * Called with where the reply was posted, for cards that will be edited later (with the bot token,
   * through the channel message endpoints: interaction tokens expire after 15 minutes).
   */
  track?: (ref: MessageRef) => Promise<void>;
  /**
   * Files sent with the message: posted by the notifiers (Slack: uploaded into the channel right after the message;
   * Discord: attachments of the message) and carried by Discord interaction replies. Slack slash-command responses
   * (response_url) cannot carry files, so there the reply shows only its text. Edits (`update`) keep whatever files
   * the message already had.
   */
  files?: ReplyFile[];
}

/** Where a message lives on its platform. */
export interface MessageRef {
  channelId: string;
  messageId: string;
}

export const md = {
  /** Neutralise markup characters in user- or API-provided text. */
  escape(s: string): string {
    return s.replace(/[\\*_`~|<>[\]]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
  },
  code(s: string): string {
    return '`' + s.replace(/`/g, "'").replace(/\n/g, ' ') + '`';
  },
  bold(s: string): string {
    return `**${md.escape(s)}**`;
  },
  /** A live mention of a chat user (Slack `U…`/`W…` ids, Discord snowflakes); anything else is shown as text. */
  mention(userId: string): string {
    return /^([UW][A-Z0-9]+|\d{15,21})$/.test(userId) ? `<@${userId}>` : md.code(userId);
  },
  /** A live link to a channel (Slack `C…`/`G…`/`D…` ids, Discord snowflakes); anything else is shown as text. */
  channel(channelId: string): string {
    return /^([CGD][A-Z0-9]+|\d{15,21})$/.test(channelId) ? `<#${channelId}>` : md.code(channelId);
  },
};

/** Remove the markup for a plain-text summary. */
export function plain(text: string): string {
  return text
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1 ($2)')
    .replace(/\\([\\*_`~|<>[\]])/g, '$1');
}

export function reply(o: Partial<Reply> & { title?: string; text?: string }): Reply {
  const blocks: ReplyBlock[] = o.blocks ? [...o.blocks] : [];
  if (o.text) blocks.unshift({ type: 'text', text: o.text });
  const summary = o.summary ?? plain(o.title ?? o.text ?? '');
  return {
    visibility: o.visibility ?? 'ephemeral',
    tone: o.tone ?? 'info',
    title: o.title,
    blocks,
    summary,
    ...(o.files?.length ? { files: o.files } : {}),
  };
}

export function errorReply(title: string, text: string, extra: ReplyBlock[] = []): Reply {
  return reply({ tone: 'error', title, text, blocks: extra, summary: plain(`${title}: ${text}`) });
}

export interface Page<T> {
  items: T[];
  page: number;
  pages: number;
  total: number;
  from: number;
  to: number;
}

/** Lists longer than a message are paged, never cut silently: the footer says where the rest is. */
export function paginate<T>(all: readonly T[], page: number, pageSize: number): Page<T> {
  const total = all.length;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const p = Math.min(Math.max(1, page), pages);
  const start = (p - 1) * pageSize;
  const items = all.slice(start, start + pageSize);
  return { items, page: p, pages, total, from: total === 0 ? 0 : start + 1, to: start + items.length };
}

/** Footer for a paged list, naming the exact command that shows the next page. */
export function pageFooter(p: Page<unknown>, commandText: string, noun: string): string {
  if (p.total === 0) return `No ${noun}.`;
  const base = `Showing ${p.from}–${p.to} of ${p.total} ${noun}`;
  if (p.page >= p.pages) return p.pages > 1 ? `${base} (page ${p.page} of ${p.pages}).` : `${base}.`;
  return `${base} (page ${p.page} of ${p.pages}). Next page: ${md.code(`${commandText} page:${p.page + 1}`)}`;
}

/** What the caller sees when their reply was posted to the channel as a card. */
export function postedNotice(card: Reply): Reply {
  return reply({ text: `Posted in this channel: ${md.escape(card.summary)}`, summary: `Posted: ${card.summary}` });
}
