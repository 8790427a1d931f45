/**
 * The neutral Reply as HTML for the playground page. Everything is escaped first: names and reasons are typed by
 * users (a workspace called `<img onerror=…>` must show as text). The markup the core uses (**bold**, `code`,
 * [label](https://…), mentions, markup escapes) is all that turns into elements.
 */
import type { Reply, ReplyBlock } from '../core/command/reply.js';
import { PLAYGROUND_MEMBERS } from './members.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const TOKEN =
  /\\([\\*_`~|<>[\]])|`([^`]*)`|\*\*(.+?)\*\*(?!\*)|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>|<#([A-Za-z0-9]+)(?:\|[^>]*)?>/gs;

/** The core's tiny markup as HTML; anything else is text. */
export function markupToHtml(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    out += escapeHtml(text.slice(last, m.index));
    last = m.index + m[0].length;
    const [, escaped, code, bold, label, url, user, channel] = m;
    if (escaped !== undefined) out += escapeHtml(escaped);
    else if (code !== undefined) out += `<code>${escapeHtml(code)}</code>`;
    else if (bold !== undefined) out += `<strong>${markupToHtml(bold)}</strong>`;
    else if (label !== undefined && url !== undefined)
      out += `<a href="${escapeHtml(url)}" rel="noopener noreferrer" target="_blank">${markupToHtml(label)}</a>`;
    else if (user !== undefined) {
      const who = PLAYGROUND_MEMBERS.find((p) => p.id === user);
      out += `<span class="mention">@${escapeHtml(who?.name ?? user)}</span>`;
    } else if (channel !== undefined)
      out += `<span class="mention">#${escapeHtml(channel === 'CPLAYGROUND' ? 'playground' : channel)}</span>`;
  }
  out += escapeHtml(text.slice(last));
  return out.replace(/\n/g, '<br>');
}

function block(b: ReplyBlock, messageId: string): string {
  switch (b.type) {
    case 'text':
      return `<p>${markupToHtml(b.text)}</p>`;
    case 'context':
      return `<p class="context">${markupToHtml(b.text)}</p>`;
    case 'divider':
      return '<hr>';
    case 'fields':
      return `<dl>${b.fields.map((f) => `<div><dt>${markupToHtml(f.label)}</dt><dd>${markupToHtml(f.value)}</dd></div>`).join('')}</dl>`;
    case 'actions':
      return `<div class="actions">${b.buttons
        .map(
          (x) =>
            `<button type="button" class="${x.style ?? 'default'}" data-action="${escapeHtml(x.id)}" data-message="${escapeHtml(messageId)}">${escapeHtml(x.label)}</button>`,
        )
        .join('')}</div>`;
  }
}

/** One message's inner HTML: title, blocks, then its images (the digest chart) inline. */
export function renderReplyHtml(reply: Reply, messageId: string): string {
  const parts: string[] = [];
  if (reply.title) parts.push(`<h3>${markupToHtml(reply.title)}</h3>`);
  for (const b of reply.blocks) parts.push(block(b, messageId));
  for (const f of reply.files ?? []) {
    const data = Buffer.from(f.data).toString('base64');
    parts.push(
      `<figure><img src="data:${f.contentType};base64,${data}" alt="${escapeHtml(f.alt)}"><figcaption>${escapeHtml(f.title)}</figcaption></figure>`,
    );
  }
  return parts.join('');
}
