/**
 * Neutral Reply → Slack Block Kit. Slack limits (docs.slack.dev/reference/block-kit): 50 blocks per
 * message, 3000 characters per section text, 10 fields per section, 150 characters per header.
 */
import type { Reply, ReplyBlock } from '../core/command/reply.js';

const TONE_ICON: Record<Reply['tone'], string> = {
  info: '',
  success: ':white_check_mark: ',
  warning: ':warning: ',
  error: ':x: ',
};
const MAX_BLOCKS = 50;
const MAX_SECTION = 3000;

/** Slack's three reserved characters, as entities (docs.slack.dev "Escaping text"). */
function entities(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Slack has no escape for its formatting characters: a zero-width space on each side keeps a `*`, `_`, `~` or
 * backtick from opening or closing bold, italics, strike or code, and the reader still sees the character.
 * Between two letters or digits (`workspace_user`) `*`, `_` and `~` cannot format, so they are left alone there
 * (copying such a name must give the name).
 */
function inertChar(c: string, before = '', after = ''): string {
  if (c === '&' || c === '<' || c === '>') return entities(c);
  if (!'*_~`'.includes(c)) return c;
  if (c !== '`' && WORD.test(before) && WORD.test(after)) return c;
  return `\u200B${c}\u200B`;
}
const WORD = /^[\p{L}\p{N}]$/u;

/**
 * Text that is plain by contract (a reply's `summary`, which may quote names people chose) → mrkdwn that Slack
 * shows as typed: no control sequence (`<!channel>`, `<@U…>`, `<url|label>`) and no formatting survives.
 */
export function plainToMrkdwn(text: string): string {
  return text.replace(/[&<>*_~`]/g, (c, at: number) => inertChar(c, text[at - 1], text[at + 1]));
}

/**
 * One token of our markup: an escaped character (`\*`, made by md.escape), a code span (md.code), a link
 * `[label](http…)`, a mention made by md.mention or md.channel, `**`, or a reserved character.
 */
const TOKEN =
  /\\([\s\S])|`([^`\n]*)`|\[((?:\\[\s\S]|[^\]\\\n])+)\]\((https?:[^)\s]+)\)|<@([UW][A-Z0-9]+)>|<#([CGD][A-Z0-9]+)>|\*\*|[&<>]/g;

/**
 * Our markup → Slack mrkdwn, token by token, so that what md.escape / md.code marked as someone's text can never
 * become a link, mention, broadcast or formatting: `**bold**` is `*bold*` there, `[label](url)` is `<url|label>`,
 * escaped characters are shown as themselves, code spans keep their text (entities only).
 */
export function toMrkdwn(text: string): string {
  return text.replace(
    TOKEN,
    (m, escaped?: string, code?: string, label?: string, url?: string, mention?: string, channel?: string, at = 0) => {
      if (escaped !== undefined)
        return inertChar(escaped, text[at - 1], text[at + 2] === '\\' ? text[at + 3] : text[at + 2]);
      if (code !== undefined) return `\`${entities(code)}\``;
      if (label !== undefined) {
        const shown = label.replace(/\\([\s\S])/g, '$1').replace(/[|>]/g, ' ');
        return `<${entities(url!)}|${entities(shown)}>`;
      }
      if (mention !== undefined) return `<@${mention}>`;
      if (channel !== undefined) return `<#${channel}>`;
      if (m === '**') return '*';
      return entities(m);
    },
  );
}

function plainText(text: string, max: number): { type: 'plain_text'; text: string; emoji: true } {
  return { type: 'plain_text', text: text.length > max ? `${text.slice(0, max - 1)}…` : text, emoji: true };
}

/** Split on line boundaries so no section exceeds Slack's limit. */
function chunks(text: string): string[] {
  if (text.length <= MAX_SECTION) return [text];
  const out: string[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    // A line longer than a section is cut into section-sized pieces, never truncated.
    for (let i = 0; i < Math.max(1, line.length); i += MAX_SECTION) {
      const piece = line.slice(i, i + MAX_SECTION);
      if (cur && cur.length + piece.length + 1 > MAX_SECTION) {
        out.push(cur);
        cur = '';
      }
      cur = cur ? `${cur}\n${piece}` : piece;
    }
  }
  if (cur) out.push(cur);
  return out;
}

function renderBlock(b: ReplyBlock): Record<string, unknown>[] {
  switch (b.type) {
    case 'text':
      return chunks(toMrkdwn(b.text)).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
    case 'fields': {
      const out: Record<string, unknown>[] = [];
      for (let i = 0; i < b.fields.length; i += 10) {
        out.push({
          type: 'section',
          fields: b.fields
            .slice(i, i + 10)
            .map((f) => ({ type: 'mrkdwn', text: `*${toMrkdwn(f.label)}*\n${toMrkdwn(f.value)}`.slice(0, 2000) })),
        });
      }
      return out;
    }
    case 'context':
      return [{ type: 'context', elements: [{ type: 'mrkdwn', text: toMrkdwn(b.text).slice(0, MAX_SECTION) }] }];
    case 'divider':
      return [{ type: 'divider' }];
    case 'actions':
      return [
        {
          type: 'actions',
          elements: b.buttons.map((btn) => ({
            type: 'button',
            action_id: btn.id,
            value: btn.id,
            text: plainText(btn.label, 75),
            ...(btn.style ? { style: btn.style } : {}),
          })),
        },
      ];
  }
}

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

export function renderSlack(reply: Reply): SlackMessage {
  const blocks: Record<string, unknown>[] = [];
  if (reply.title)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `${TONE_ICON[reply.tone]}*${toMrkdwn(reply.title)}*` },
    });
  for (const b of reply.blocks) blocks.push(...renderBlock(b));
  if (blocks.length > MAX_BLOCKS) {
    // Never cut silently: say that the reply was shortened.
    blocks.splice(MAX_BLOCKS - 1);
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'This reply was too long for one Slack message and was shortened; narrow it with options or pages.',
        },
      ],
    });
  }
  // The fallback text (notifications, screen readers) is parsed as mrkdwn too: the summary is plain text.
  const text = reply.summary ? plainToMrkdwn(reply.summary) : reply.title ? toMrkdwn(reply.title) : 'Quartermaster';
  return { text, blocks };
}
