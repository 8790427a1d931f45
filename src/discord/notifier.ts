/** Posting, editing and DMs as the Discord bot, through the channel endpoints (no interaction token needed). */
import { type REST, Routes } from 'discord.js';
import type { ChatNotifier } from '../core/ports/runtime.js';
import { renderDiscord } from './render.js';

export function discordNotifier(rest: REST): ChatNotifier {
  const body = (reply: Parameters<ChatNotifier['post']>[2]) => ({ ...renderDiscord(reply), flags: undefined });
  return {
    platform: 'discord',
    async post(_guildId, channelId, reply) {
      const m = (await rest.post(Routes.channelMessages(channelId), { body: body(reply) })) as {
        id: string;
        channel_id: string;
      };
      return { channelId: m.channel_id, messageId: m.id };
    },
    async update(_guildId, ref, reply) {
      await rest.patch(Routes.channelMessage(ref.channelId, ref.messageId), { body: body(reply) });
    },
    async dm(_guildId, userId, reply) {
      const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as { id: string };
      await rest.post(Routes.channelMessages(channel.id), { body: body(reply) });
    },
  };
}
