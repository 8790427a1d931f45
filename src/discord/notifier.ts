/** Posting, editing and DMs as the Discord bot, through the channel endpoints (no interaction token needed). */
import { DiscordAPIError, type REST, Routes } from 'discord.js';
import type { AutoModInstaller, AutoModOutcome, AutoModRule, ChatNotifier } from '../core/ports/runtime.js';
import { discordFiles, renderDiscord } from './render.js';

/** Discord's JSON error codes this adapter tells apart. */
const MISSING_ACCESS = 50001;
const MISSING_PERMISSIONS = 50013;
const UNKNOWN_MESSAGE = 10008;
const INVALID_FORM_BODY = 50035;

const isApiError = (err: unknown, status: number): err is DiscordAPIError =>
  err instanceof DiscordAPIError && err.status === status;

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
    /**
     * Deleting someone else's message needs Manage Messages in that channel: without it Discord answers 403
     * (Missing Permissions / Missing Access), and the caller tells the poster to delete it. A message already gone
     * (10008) counts as deleted.
     */
    async deleteMessage(_guildId, channelId, messageId) {
      try {
        await rest.delete(Routes.channelMessage(channelId, messageId), {
          reason: 'Quartermaster: the message held an Anthropic key',
        });
        return true;
      } catch (err) {
        if (isApiError(err, 404) && err.code === UNKNOWN_MESSAGE) return true;
        if (isApiError(err, 403)) return false;
        throw err;
      }
    },
    automod: discordAutoMod(rest),
  };
}

/** Discord's AutoMod enums: trigger KEYWORD (at most 6 such rules per server), event MESSAGE_SEND, actions. */
const KEYWORD = 1;
const MESSAGE_SEND = 1;
const BLOCK_MESSAGE = 1;
const SEND_ALERT_MESSAGE = 2;

interface RawRule {
  id: string;
  name: string;
  trigger_type: number;
}

/** AutoMod rules through the REST API (`/guilds/{id}/auto-moderation/rules`); every route needs Manage Server. */
export function discordAutoMod(rest: REST): AutoModInstaller {
  return {
    async install(guildId: string, rule: AutoModRule): Promise<AutoModOutcome> {
      const settings = {
        name: rule.name,
        event_type: MESSAGE_SEND,
        trigger_metadata: { regex_patterns: rule.regexPatterns },
        actions: [
          { type: BLOCK_MESSAGE, metadata: { custom_message: rule.blockMessage } },
          ...(rule.alertChannelId ? [{ type: SEND_ALERT_MESSAGE, metadata: { channel_id: rule.alertChannelId } }] : []),
        ],
        enabled: true,
      };
      const reason = 'Quartermaster: /qm alerts automod';
      try {
        const rules = (await rest.get(Routes.guildAutoModerationRules(guildId))) as RawRule[];
        const existing = rules.find((r) => r.name === rule.name && r.trigger_type === KEYWORD);
        if (existing) {
          const updated = (await rest.patch(Routes.guildAutoModerationRule(guildId, existing.id), {
            body: settings,
            reason,
          })) as RawRule;
          return { ok: true, created: false, id: updated.id };
        }
        const created = (await rest.post(Routes.guildAutoModerationRules(guildId), {
          body: { ...settings, trigger_type: KEYWORD },
          reason,
        })) as RawRule;
        return { ok: true, created: true, id: created.id };
      } catch (err) {
        if (isApiError(err, 403) && (err.code === MISSING_PERMISSIONS || err.code === MISSING_ACCESS)) {
          return { ok: false, reason: 'missing_permissions', detail: apiMessage(err) };
        }
        if (isApiError(err, 400)) {
          if (err.code === INVALID_FORM_BODY) return { ok: false, reason: 'invalid', detail: formErrors(err) };
          // 30xxx: a "Maximum number of …" limit.
          if (typeof err.code === 'number' && err.code >= 30000 && err.code < 40000) {
            return { ok: false, reason: 'limit', detail: apiMessage(err) };
          }
          return { ok: false, reason: 'invalid', detail: apiMessage(err) };
        }
        throw err;
      }
    },
  };
}

/** Discord's own sentence (`Missing Permissions`), without the field details discord.js appends. */
const apiMessage = (err: DiscordAPIError): string =>
  'message' in err.rawError && typeof err.rawError.message === 'string' ? err.rawError.message : err.message;

/** `trigger_metadata.regex_patterns.0: Must be 260 or fewer in length.` for each field Discord named. */
function formErrors(err: DiscordAPIError): string {
  const out: string[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === '_errors' && Array.isArray(v)) {
        for (const e of v) out.push(`${path.join('.') || 'body'}: ${String((e as { message?: unknown }).message)}`);
      } else walk(v, [...path, k]);
    }
  };
  walk((err.rawError as { errors?: unknown }).errors, []);
  return out.length ? out.slice(0, 5).join('; ') : apiMessage(err);
}
