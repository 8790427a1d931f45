/** Which Slack message events are scanned for leaked keys, and what text each gives (src/slack/scan.ts). */
import { describe, expect, it } from 'vitest';
import { messageToScan, SNIPPET_MAX_BYTES } from '../../src/slack/scan.js';

const KEY = `sk-ant-api03-${'Ab3_'.repeat(23)}xAA`;
const base = { type: 'message', channel: 'C0GENERAL', user: 'UBOB', ts: '1700000000.000100', text: 'hello' };

describe('messageToScan', () => {
  it('takes a person’s message, a thread reply and a thread broadcast', () => {
    expect(messageToScan(base)).toEqual({
      channelId: 'C0GENERAL',
      ts: base.ts,
      userId: 'UBOB',
      edited: false,
      text: 'hello',
      files: [],
    });
    expect(messageToScan({ ...base, thread_ts: '1699999999.000001' })?.ts).toBe(base.ts);
    expect(messageToScan({ ...base, subtype: 'thread_broadcast' })?.userId).toBe('UBOB');
  });

  it.each([
    ['a bot message', { ...base, subtype: 'bot_message', bot_id: 'B1', user: undefined }],
    ['an app posting as a bot user', { ...base, bot_id: 'BQMBOT' }],
    ['a join', { ...base, subtype: 'channel_join', text: '<@UBOB> has joined the channel' }],
    ['a deletion', { ...base, subtype: 'message_deleted', hidden: true, deleted_ts: base.ts, user: undefined }],
    ['a message without a channel', { ...base, channel: undefined }],
  ])('skips %s', (_what, event) => {
    expect(messageToScan(event as never)).toBeNull();
  });

  it('scans an edit’s new text, as edited, under the original ts; skips an edit that changed no text', () => {
    const changed = {
      type: 'message',
      subtype: 'message_changed',
      hidden: true,
      channel: 'C0GENERAL',
      ts: '1700000050.000200',
      message: { ...base, text: `oops ${KEY}`, edited: { user: 'UBOB', ts: '1700000050.000200' } },
      previous_message: { ...base },
    };
    expect(messageToScan(changed)).toMatchObject({ ts: base.ts, edited: true, text: `oops ${KEY}` });
    // An unfurl: attachments added to the same text (the preview is scanned only when its text is new).
    const unfurl = {
      ...changed,
      message: { ...base },
      previous_message: { ...base },
    };
    expect(messageToScan(unfurl)).toBeNull();
    // Our own card being updated.
    expect(messageToScan({ ...changed, message: { ...changed.message, bot_id: 'BQMBOT' } })).toBeNull();
  });

  it('adds the text of blocks and attachments, each once', () => {
    const seen = messageToScan({
      ...base,
      text: 'see below',
      blocks: [
        {
          type: 'rich_text',
          elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'see below' }] }],
        },
        { type: 'section', text: { type: 'mrkdwn', text: `block ${KEY}` } },
      ],
      attachments: [
        { fallback: 'cfg', title: 'cfg', text: 'attached', color: '#abcdef', image_url: 'https://x/y.png' },
      ],
    });
    expect(seen?.text.split('\n')).toEqual(['see below', `block ${KEY}`, 'cfg', 'attached']);
  });

  it('reads snippets and text files under the size cap, not images, external or large files', () => {
    const seen = messageToScan({
      ...base,
      subtype: 'file_share',
      files: [
        { id: 'F1', mode: 'snippet', filetype: 'javascript', size: 10, title: 'a.js', preview: 'const a = 1' },
        { id: 'F2', mode: 'hosted', filetype: 'text', mimetype: 'text/plain', size: 100 },
        { id: 'F3', mode: 'hosted', filetype: 'png', mimetype: 'image/png', size: 100 },
        { id: 'F4', mode: 'external', filetype: 'text', is_external: true, size: 100 },
        { id: 'F5', mode: 'snippet', filetype: 'text', size: SNIPPET_MAX_BYTES + 1 },
      ],
    });
    expect(seen?.files.map((f) => f.id)).toEqual(['F1', 'F2']);
    expect(seen?.text).toContain('const a = 1');
  });
});
