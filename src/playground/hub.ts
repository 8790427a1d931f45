/**
 * The playground's chat: messages kept in memory (the channel, "only you" replies, DMs) and pushed to every open
 * page over server-sent events. Its ChatNotifier is what the core posts, edits and DMs through, exactly as it does
 * through Slack's and Discord's.
 */
import type { ServerResponse } from 'node:http';
import type { MessageRef, Reply } from '../core/command/reply.js';
import type { ChatNotifier } from '../core/ports/runtime.js';
import { renderReplyHtml } from './render.js';

export interface PlaygroundMessage {
  id: string;
  /** `channel`: everyone sees it; `ephemeral`: only `to`; `dm`: `to`'s direct messages. */
  where: 'channel' | 'ephemeral' | 'dm';
  /** The member an ephemeral reply or DM is for; the poster of a channel message typed by someone. */
  to: string | null;
  tone: Reply['tone'];
  summary: string;
  html: string;
  /** Increases with every edit (the page replaces a card in place). */
  version: number;
  at: string;
}

/** Old messages beyond this are forgotten (the page is a demo, not an archive). */
const MAX_MESSAGES = 500;

export class PlaygroundHub {
  private readonly messages = new Map<string, PlaygroundMessage>();
  private readonly clients = new Set<ServerResponse>();
  private seq = 0;

  constructor(private readonly now: () => Date) {}

  list(): PlaygroundMessage[] {
    return [...this.messages.values()];
  }

  get(id: string): PlaygroundMessage | undefined {
    return this.messages.get(id);
  }

  add(where: PlaygroundMessage['where'], to: string | null, reply: Reply): PlaygroundMessage {
    const id = `m${++this.seq}`;
    const msg: PlaygroundMessage = {
      id,
      where,
      to,
      tone: reply.tone,
      summary: reply.summary,
      html: renderReplyHtml(reply, id),
      version: 1,
      at: this.now().toISOString(),
    };
    this.messages.set(id, msg);
    while (this.messages.size > MAX_MESSAGES) this.messages.delete(this.messages.keys().next().value!);
    this.broadcast(msg);
    return msg;
  }

  /** Replaces a message in place (a card after a vote or an outcome); false when there is no such message. */
  update(id: string, reply: Reply): boolean {
    const old = this.messages.get(id);
    if (!old) return false;
    const msg: PlaygroundMessage = {
      ...old,
      tone: reply.tone,
      summary: reply.summary,
      html: renderReplyHtml(reply, id),
      version: old.version + 1,
    };
    this.messages.set(id, msg);
    this.broadcast(msg);
    return true;
  }

  /** An event-stream response: every message so far, then each new message or edit as it happens. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // A comment first, so an empty playground's stream opens now rather than at the first ping.
    res.write(': connected\n\n');
    for (const m of this.messages.values()) res.write(event(m));
    this.clients.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    res.on('close', () => {
      clearInterval(ping);
      this.clients.delete(res);
    });
  }

  /** Ends every open stream (shutdown). */
  close(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private broadcast(m: PlaygroundMessage): void {
    const data = event(m);
    for (const c of this.clients) c.write(data);
  }

  notifier(): ChatNotifier {
    return {
      platform: 'playground',
      post: async (_teamId, channelId, reply): Promise<MessageRef> => {
        const m = this.add('channel', null, reply);
        return { channelId, messageId: m.id };
      },
      update: async (_teamId, ref, reply) => {
        this.update(ref.messageId, reply);
      },
      dm: async (_teamId, userId, reply) => {
        this.add('dm', userId, reply);
      },
    };
  }
}

function event(m: PlaygroundMessage): string {
  return `event: message\nid: ${m.id}.${m.version}\ndata: ${JSON.stringify(m)}\n\n`;
}
