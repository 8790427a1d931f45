/**
 * Slack messages scanned for leaked Anthropic keys (issue 11): new messages, edits (message_changed), thread
 * replies and file snippets' text, in the channels the bot is in and in DMs to the bot (message.channels,
 * message.groups, message.im). Bolt has acknowledged the event before the listener runs; the listener only takes
 * out the text (already parsed by Bolt) and, when there may be a key in it or a text file to read, queues the scan
 * on the dispatcher's work queue. The text is never logged.
 */
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Dispatcher } from '../core/command/dispatch.js';
import { SECRET_PREFIX } from '../core/leaks/detect.js';
import { reportChatMessage } from '../core/leaks/incidents.js';
import type { Logger } from '../core/ports/runtime.js';

/** Text files (snippets) larger than this are not fetched: a pasted key sits in a small file. */
export const SNIPPET_MAX_BYTES = 512 * 1024;
/** How much taken text messageText searches for a piece it already has (see there). */
const DEDUPE_MAX_CHARS = 16_384;
/** Files read from one message at most. */
const MAX_FILES = 10;

/** Subtypes whose message a person wrote (a plain message has none). */
const SCANNED_SUBTYPES = new Set([undefined, 'thread_broadcast', 'file_share', 'me_message']);

interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  filetype?: string;
  mode?: string;
  size?: number;
  is_external?: boolean;
  preview?: string;
}

interface SlackMessage {
  type?: string;
  subtype?: string;
  hidden?: boolean;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  files?: SlackFile[];
  edited?: unknown;
  message?: SlackMessage;
  previous_message?: SlackMessage;
}

/** What one message event gives to scan; null for a message nobody wrote (bots, joins, deletions) or no change. */
export interface MessageToScan {
  channelId: string;
  ts: string;
  userId: string;
  edited: boolean;
  /** The message's text with its blocks' and attachments' text. */
  text: string;
  /** Text files and snippets whose content must be fetched (files.info). */
  files: { id: string; size: number }[];
}

export function messageToScan(event: SlackMessage): MessageToScan | null {
  const channelId = event.channel;
  if (!channelId) return null;
  let msg = event;
  let edited = false;
  if (event.subtype === 'message_changed') {
    if (!event.message) return null;
    msg = event.message;
    edited = true;
    // An unfurl or Slack's own metadata change the message without the author changing what they wrote.
    const prev = event.previous_message;
    if (prev && messageText(prev) === messageText(msg) && sameFiles(prev, msg)) return null;
  }
  if (!SCANNED_SUBTYPES.has(msg.subtype)) return null;
  // A bot's or an app's message (this app's own cards among them), never a person's paste.
  if (msg.bot_id || msg.subtype === 'bot_message' || !msg.user || !msg.ts) return null;
  const files = (msg.files ?? [])
    .filter(isTextFile)
    .slice(0, MAX_FILES)
    .map((f) => ({ id: f.id!, size: f.size ?? 0 }));
  return { channelId, ts: msg.ts, userId: msg.user, edited, text: messageText(msg), files };
}

/** A snippet or a plain-text file small enough to read; not an external (Google Drive…) file. */
function isTextFile(f: SlackFile): boolean {
  if (!f.id || f.is_external) return false;
  const text = f.mode === 'snippet' || f.filetype === 'text' || (f.mimetype ?? '').startsWith('text/');
  return text && (f.size ?? 0) <= SNIPPET_MAX_BYTES;
}

function sameFiles(a: SlackMessage, b: SlackMessage): boolean {
  const ids = (m: SlackMessage) => (m.files ?? []).map((f) => f.id).join(',');
  return ids(a) === ids(b);
}

/**
 * The message text, then every text of its blocks and attachments (a bot-less app or a workflow may put text only
 * there; an unfurl shows a linked page's text), each added only when not already part of what was taken.
 */
export function messageText(msg: SlackMessage): string {
  const pieces: string[] = [];
  const taken = new Set<string>();
  let all = '';
  const add = (s: unknown) => {
    if (typeof s !== 'string' || s === '' || taken.has(s)) return;
    // Whether it is part of what was taken is asked only while that is small: a message of thousands of block
    // elements would otherwise cost a search of everything taken per element (seconds of a stalled event loop).
    // Past that, a piece already seen is scanned twice, which reports nothing twice (one sighting per secret).
    if (all.length <= DEDUPE_MAX_CHARS && all.includes(s)) return;
    taken.add(s);
    pieces.push(s);
    all += `\n${s}`;
  };
  add(msg.text);
  for (const b of msg.blocks ?? []) collect(b, add, 0);
  for (const a of msg.attachments ?? []) collect(a, add, 0);
  for (const f of msg.files ?? []) {
    add(f.title);
    add(f.preview);
  }
  return pieces.join('\n');
}

/** Fields whose string values are text a person could have written (ids, colors and image URLs are not). */
const TEXT_FIELDS = new Set([
  'text',
  'fallback',
  'pretext',
  'title',
  'value',
  'footer',
  'url',
  'title_link',
  'author_name',
  'from_url',
]);

function collect(node: unknown, add: (s: unknown) => void, depth: number): void {
  if (depth > 12 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) collect(n, add, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    if (typeof v === 'string') {
      if (TEXT_FIELDS.has(k)) add(v);
    } else collect(v, add, depth + 1);
  }
}

/** Whether the text may hold a key (the detector looks only where this prefix is). */
const mayHoldKey = (text: string) => text.includes(SECRET_PREFIX);

export interface MessageScanOptions {
  dispatcher: Dispatcher;
  logger: Logger;
}

/** Registers the `message` listener on the Bolt app. */
export function scanMessages(app: App, o: MessageScanOptions): void {
  const logger = o.logger;
  app.event('message', async ({ event, body, client }) => {
    const seen = messageToScan(event as SlackMessage);
    if (!seen) return;
    if (!seen.files.length && !mayHoldKey(seen.text)) return;
    const teamId = (body as { team_id?: string }).team_id ?? '';
    const where = { team: teamId, channel: seen.channelId, ts: seen.ts };
    o.dispatcher
      .background({ platform: 'slack', teamId, userId: `scan:${seen.userId}` }, (services) =>
        scanMessage(client, seen, teamId, logger).then(async (text) => {
          if (!mayHoldKey(text)) return;
          const permalink = await client.chat
            .getPermalink({ channel: seen.channelId, message_ts: seen.ts })
            .then((r) => r.permalink ?? null)
            .catch((err: unknown) => {
              logger.debug({ ...where, code: slackError(err) }, 'no permalink for a scanned Slack message');
              return null;
            });
          const notifier = services.notifiers.slack;
          const outcome = await reportChatMessage(
            services,
            {
              platform: 'slack',
              teamId,
              channelId: seen.channelId,
              messageId: seen.ts,
              userId: seen.userId,
              text,
              permalink,
              edited: seen.edited,
            },
            {
              deleteMessage: async () =>
                notifier?.deleteMessage ? notifier.deleteMessage(teamId, seen.channelId, seen.ts) : false,
            },
          );
          if (outcome.secrets) logger.info({ ...where, secrets: outcome.secrets }, 'leaked key found in Slack');
        }),
      )
      .catch((err: unknown) => logger.error({ ...where, err }, 'scanning a Slack message for leaked keys failed'));
  });
}

/** The text to scan: the message's own, then each text file's content (files.info; files:read). */
async function scanMessage(client: WebClient, seen: MessageToScan, teamId: string, logger: Logger): Promise<string> {
  let text = seen.text;
  for (const f of seen.files) {
    try {
      const res = (await client.files.info({ file: f.id })) as { content?: string };
      if (typeof res.content === 'string') text += `\n${res.content.slice(0, SNIPPET_MAX_BYTES)}`;
    } catch (err) {
      logger.warn(
        { team: teamId, channel: seen.channelId, file: f.id, code: slackError(err) },
        slackError(err) === 'missing_scope'
          ? 'could not read a shared snippet to scan it for leaked keys: the app lacks files:read (reinstall it with the current manifest)'
          : 'could not read a shared snippet to scan it for leaked keys',
      );
    }
  }
  return text;
}

const slackError = (err: unknown): string | undefined =>
  (err as { data?: { error?: string } }).data?.error ?? (err as { code?: string }).code;
