/** Posting, editing and DMs as the Slack bot (chat:write, im:write), outside any interaction. */
import type { WebClient } from '@slack/web-api';
import type { ChatNotifier } from '../core/ports/runtime.js';
import { renderSlack } from './render.js';

/**
 * With one workspace the client carries its bot token. With OAuth installs, `tokenFor` gives each workspace's own
 * bot token (the call then goes out as that workspace's bot).
 */
export function slackNotifier(
  client: WebClient,
  tokenFor?: ((teamId: string) => Promise<string>) | null,
): ChatNotifier {
  const auth = async (teamId: string) => (tokenFor ? { token: await tokenFor(teamId) } : {});
  return {
    platform: 'slack',
    async post(teamId, channelId, reply) {
      const res = await client.chat.postMessage({ ...(await auth(teamId)), channel: channelId, ...renderSlack(reply) });
      return { channelId: res.channel ?? channelId, messageId: res.ts! };
    },
    async update(teamId, ref, reply) {
      await client.chat.update({
        ...(await auth(teamId)),
        channel: ref.channelId,
        ts: ref.messageId,
        ...renderSlack(reply),
      });
    },
    async dm(teamId, userId, reply) {
      const token = await auth(teamId);
      const im = await client.conversations.open({ ...token, users: userId });
      await client.chat.postMessage({ ...token, channel: im.channel!.id!, ...renderSlack(reply) });
    },
  };
}
