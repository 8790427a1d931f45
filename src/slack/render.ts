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

/** Our markup → Slack mrkdwn. Slack needs &, < and > escaped; `**bold**` is `*bold*` there. */
export function toMrkdwn(text: string): string {
  const escaped = text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    // A user mention made by md.mention (never by md.escape'd input, whose `<` carries a backslash) stays live.
    .replace(/(^|[^\\])&lt;@([UW][A-Z0-9]+)&gt;/g, '$1<@$2>');
  // md.escape's `\<` and `\>` are entities by now: drop the backslash, or Slack shows it.
  return escaped
    .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, (_m, label: string, url: string) => `<${url}|${label}>`)
    .replace(/\*\*(.+?)\*\*/g, '*$1*')
    .replace(/\\([*_`~|[\]])/g, '$1\u200B')
    .replace(/\\(&lt;|&gt;)/g, '$1');
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
  return { text: reply.summary || reply.title || 'Quartermaster', blocks };
}
