/** Posting, editing and DMs as the Discord bot, through the channel endpoints (no interaction token needed). */
import { type REST, Routes } from 'discord.js';
import type { ChatNotifier } from '../core/ports/runtime.js';
import { discordFiles, renderDiscord } from './render.js';

export function discordNotifier(rest: REST): ChatNotifier {
  const body = (reply: Parameters<ChatNotifier['post']>[2]) => ({ ...renderDiscord(reply), flags: undefined });
  /** The message with its files as attachments: one multipart request when there are files, JSON otherwise. */
  const send = async (channelId: string, reply: Parameters<ChatNotifier['post']>[2]) => {
    const { attachments, files } = discordFiles(reply);
    return (await rest.post(Routes.channelMessages(channelId), {
      body: { ...body(reply), ...(attachments ? { attachments } : {}) },
      ...(files ? { files } : {}),
    })) as { id: string; channel_id: string };
  };
  return {
    platform: 'discord',
    async post(_guildId, channelId, reply) {
      const m = await send(channelId, reply);
      return { channelId: m.channel_id, messageId: m.id };
    },
    async update(_guildId, ref, reply) {
      // No `attachments` in the body: Discord keeps the message's files as they are.
      await rest.patch(Routes.channelMessage(ref.channelId, ref.messageId), { body: body(reply) });
    },
    async dm(_guildId, userId, reply) {
      const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as { id: string };
      await send(channel.id, reply);
    },
  };
}
