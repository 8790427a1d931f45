/** Posting, editing and DMs as the Slack bot (chat:write, im:write), outside any interaction. */
import type { WebClient } from '@slack/web-api';
import type { ChatNotifier } from '../core/ports/runtime.js';
import { renderSlack } from './render.js';

export function slackNotifier(client: WebClient): ChatNotifier {
  return {
    platform: 'slack',
    async post(_teamId, channelId, reply) {
      const res = await client.chat.postMessage({ channel: channelId, ...renderSlack(reply) });
      return { channelId: res.channel ?? channelId, messageId: res.ts! };
    },
    async update(_teamId, ref, reply) {
      await client.chat.update({ channel: ref.channelId, ts: ref.messageId, ...renderSlack(reply) });
    },
    async dm(_teamId, userId, reply) {
      const im = await client.conversations.open({ users: userId });
      await client.chat.postMessage({ channel: im.channel!.id!, ...renderSlack(reply) });
    },
  };
}
