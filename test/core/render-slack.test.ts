/** Neutral Reply → Slack Block Kit, within Slack's limits and never cut silently. */
import { describe, expect, it } from 'vitest';
import { md, type Reply, type ReplyBlock, reply } from '../../src/core/command/reply.js';
import { renderSlack, toMrkdwn } from '../../src/slack/render.js';

type Block = Record<string, any>;

function sectionTexts(blocks: Block[]): string[] {
  return blocks.filter((b) => b.type === 'section' && b.text).map((b) => b.text.text as string);
}

describe('toMrkdwn', () => {
  it('escapes &, < and >', () => {
    expect(toMrkdwn('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
    // Text that looks like a Slack control sequence must not notify anyone.
    expect(toMrkdwn('<!channel> <!here>')).toBe('&lt;!channel&gt; &lt;!here&gt;');
    // A mention typed by a user (escaped with md.escape before it is embedded) stays text.
    expect(toMrkdwn(md.escape('<@U123>'))).toBe('&lt;@U123&gt;');
  });

  it('links a channel made by md.channel, and only that', () => {
    expect(toMrkdwn(`alerts go to ${md.channel('C0ALERTS')}`)).toBe('alerts go to <#C0ALERTS>');
    // Typed by a user, or not a channel id: text.
    expect(toMrkdwn(md.escape('<#C0ALERTS>'))).toBe('&lt;#C0ALERTS&gt;');
    expect(toMrkdwn(md.channel('general|x'))).toBe('`general|x`');
  });

  it('turns **bold** into *bold*', () => {
    expect(toMrkdwn('**API keys** and **more**')).toBe('*API keys* and *more*');
  });

  it('turns [label](url) into <url|label>', () => {
    expect(toMrkdwn('see [the console](https://x)')).toBe('see <https://x|the console>');
    expect(toMrkdwn('[q](https://x/?a=1&b=2)')).toBe('<https://x/?a=1&amp;b=2|q>');
  });

  it('does not link non-http URLs', () => {
    expect(toMrkdwn('[x](javascript:alert(1))')).toBe('[x](javascript:alert(1))');
  });

  it('never turns escaped or quoted user text into a link, mention or formatting', () => {
    // An escaped masked link stays text (it used to become <https://evil|x>).
    expect(toMrkdwn(md.escape('[x](https://evil.example)'))).toBe('[x](https://evil.example)');
    // A backslash the user typed cannot cancel the escape of the character after it.
    expect(toMrkdwn(md.escape('\\*bold\\*')).replace(/\u200B/g, '')).toBe('\\*bold\\*');
    expect(toMrkdwn(md.escape('\\*bold\\*'))).not.toMatch(/(^|[^\u200B])\*bold/);
    // Inside a code span nothing is live: no mention, no link.
    expect(toMrkdwn(md.code('<@U123> [x](https://evil.example)'))).toBe('`&lt;@U123&gt; [x](https://evil.example)`');
    // The plain fallback text cannot broadcast or format.
    const m = renderSlack(reply({ title: 'x', summary: '<!channel> <@U1> & *b*' }));
    expect(m.text.replace(/\u200B/g, '')).toBe('&lt;!channel&gt; &lt;@U1&gt; &amp; *b*');
    expect(m.text).not.toContain('*b*');
  });

  it('keeps escaped markup literal, without showing the backslash', () => {
    const out = toMrkdwn(md.escape('*not bold* <b> [x]'));
    expect(out).not.toContain('\\');
    expect(out.replace(/\u200B/g, '')).toBe('*not bold* &lt;b&gt; [x]');
  });
});

describe('renderSlack', () => {
  it('puts the title first with the tone icon, and uses the summary as fallback text', () => {
    const m = renderSlack(reply({ tone: 'error', title: 'Not allowed', text: 'You need **admin**.' }));
    expect(m.text).toBe('Not allowed');
    expect(sectionTexts(m.blocks)).toEqual([':x: *Not allowed*', 'You need *admin*.']);
  });

  it('renders every block kind', () => {
    const blocks: ReplyBlock[] = [
      { type: 'context', text: 'page 1 of 2' },
      { type: 'divider' },
      { type: 'actions', buttons: [{ id: 'approve:1', label: 'Approve', style: 'primary' }] },
    ];
    const m = renderSlack(reply({ blocks }));
    expect(m.blocks).toEqual([
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'page 1 of 2' }] },
      { type: 'divider' },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'approve:1',
            value: 'approve:1',
            text: { type: 'plain_text', text: 'Approve', emoji: true },
            style: 'primary',
          },
        ],
      },
    ]);
  });

  it('splits text over 3000 characters into several sections on line boundaries, losing nothing', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    const m = renderSlack(reply({ text: lines.join('\n') }));
    const texts = sectionTexts(m.blocks);
    expect(texts.length).toBeGreaterThan(1);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(3000);
    expect(texts.join('\n')).toBe(lines.join('\n'));
  });

  it('splits a single line over 3000 characters too, losing nothing', () => {
    const text = 'y'.repeat(7000);
    const texts = sectionTexts(renderSlack(reply({ text })).blocks);
    expect(texts.map((t) => t.length)).toEqual([3000, 3000, 1000]);
    expect(texts.join('')).toBe(text);
  });

  it('measures the limit after escaping', () => {
    const texts = sectionTexts(renderSlack(reply({ text: '&'.repeat(1000) })).blocks);
    expect(texts.length).toBe(2);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(3000);
  });

  it('caps a long reply at 50 blocks and says it was shortened', () => {
    const blocks: ReplyBlock[] = Array.from({ length: 80 }, (_, i) => ({ type: 'text', text: `item ${i}` }));
    const m = renderSlack(reply({ title: 'Many', blocks }));
    expect(m.blocks).toHaveLength(50);
    const last = m.blocks.at(-1) as Block;
    expect(last.type).toBe('context');
    expect(last.elements[0].text).toMatch(/shortened/);
    expect(sectionTexts(m.blocks).at(-1)).toBe('item 47');
  });

  it('does not add the note when exactly 50 blocks fit', () => {
    const blocks: ReplyBlock[] = Array.from({ length: 50 }, (_, i) => ({ type: 'text', text: `item ${i}` }));
    const m = renderSlack(reply({ blocks }));
    expect(m.blocks).toHaveLength(50);
    expect(JSON.stringify(m.blocks)).not.toMatch(/shortened/);
  });

  it('chunks fields by 10 per section', () => {
    const fields = Array.from({ length: 23 }, (_, i) => ({ label: `L${i}`, value: `**v${i}** <x>` }));
    const m = renderSlack(reply({ blocks: [{ type: 'fields', fields }] }));
    expect(m.blocks.map((b) => (b as Block).fields.length)).toEqual([10, 10, 3]);
    expect((m.blocks[0] as Block).fields[0]).toEqual({ type: 'mrkdwn', text: '*L0*\n*v0* &lt;x&gt;' });
    expect((m.blocks[2] as Block).fields[2].text).toBe('*L22*\n*v22* &lt;x&gt;');
  });

  it('falls back to a fixed text when there is no summary or title', () => {
    const r: Reply = { visibility: 'ephemeral', tone: 'info', blocks: [], summary: '' };
    expect(renderSlack(r).text).toBe('Quartermaster');
  });
});
