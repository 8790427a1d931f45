/**
 * Posting, editing and DMs as the Slack bot (chat:write, im:write, files:write), outside any interaction; deleting a
 * message that holds a leaked key with SLACK_ADMIN_USER_TOKEN (a bot may delete only its own messages).
 */
import type { WebClient } from '@slack/web-api';
import type { ReplyFile } from '../core/command/reply.js';
import type { ChatNotifier, Logger } from '../core/ports/runtime.js';
import { renderSlack } from './render.js';

/**
 * With one workspace the client carries its bot token. With OAuth installs, `tokenFor` gives each workspace's own
 * bot token (the call then goes out as that workspace's bot).
 */
export function slackNotifier(
  client: WebClient,
  tokenFor?: ((teamId: string) => Promise<string>) | null,
  opts: {
    logger?: Logger;
    /** SLACK_ADMIN_USER_TOKEN: a workspace admin's user token (xoxp-…, chat:write); never logged. */
    adminUserToken?: string;
  } = {},
): ChatNotifier {
  const adminUserToken = opts.adminUserToken;
  const auth = async (teamId: string) => (tokenFor ? { token: await tokenFor(teamId) } : {});
  return {
    platform: 'slack',
    async post(teamId, channelId, reply) {
      const token = await auth(teamId);
      const res = await client.chat.postMessage({ ...token, channel: channelId, ...renderSlack(reply) });
      const channel = res.channel ?? channelId;
      if (reply.files?.length) await uploadFiles(client, token, channel, reply.files, opts.logger);
      return { channelId: channel, messageId: res.ts! };
    },
    async update(teamId, ref, reply) {
      // Files are not re-sent: the message's earlier upload stays where it is.
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
      const res = await client.chat.postMessage({ ...token, channel: im.channel!.id!, ...renderSlack(reply) });
      if (reply.files?.length)
        await uploadFiles(client, token, res.channel ?? im.channel!.id!, reply.files, opts.logger);
    },
    /**
     * chat.delete as the admin (as_user): only an admin's user token may delete someone else's message. Without
     * the token, or when Slack refuses (another workspace's channel, a message already gone, a revoked token),
     * false: the poster is then asked to delete it.
     */
    async deleteMessage(teamId, channelId, messageId) {
      if (!adminUserToken) return false;
      try {
        await client.chat.delete({ token: adminUserToken, channel: channelId, ts: messageId, as_user: true });
        return true;
      } catch (err) {
        const code = (err as { data?: { error?: string } }).data?.error ?? (err as { code?: string }).code;
        opts.logger?.warn(
          { team: teamId, channel: channelId, ts: messageId, code },
          code === 'cant_delete_message'
            ? 'could not delete a Slack message holding a leaked key: SLACK_ADMIN_USER_TOKEN is not a workspace admin or owner'
            : code === 'missing_scope'
              ? 'could not delete a Slack message holding a leaked key: SLACK_ADMIN_USER_TOKEN lacks the chat:write scope'
              : 'could not delete a Slack message holding a leaked key; the poster is asked to delete it',
        );
        return false;
      }
    },
  };
}

/**
 * Shares each file in the channel, right after the message it belongs to (in the channel, not in a thread, so the
 * picture is seen without opening anything). files.uploadV2 makes Slack's three calls: files.getUploadURLExternal,
 * the POST of the bytes to the upload URL, and files.completeUploadExternal, which shares the file.
 *
 * The message is already posted and says everything without the file, so a failed upload (typically `missing_scope`
 * from an install made before files:write was asked for) is logged and not thrown: throwing would make a caller
 * that retries post the message twice.
 */
async function uploadFiles(
  client: WebClient,
  token: { token?: string },
  channelId: string,
  files: readonly ReplyFile[],
  logger: Logger | undefined,
): Promise<void> {
  for (const f of files) {
    try {
      await client.filesUploadV2({
        ...token,
        channel_id: channelId,
        // web-api reads binary data only from a Buffer (a plain Uint8Array would be taken for a stream).
        file: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength),
        filename: f.name,
        title: f.title,
        alt_text: f.alt.slice(0, 1000),
      });
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      logger?.warn(
        { err, channel: channelId, file: f.name, code },
        code === 'missing_scope'
          ? 'could not attach a file to a Slack message: the app lacks the files:write scope (reinstall it with the current manifest); the message was posted without it'
          : 'could not attach a file to a Slack message; the message was posted without it',
      );
    }
  }
}
