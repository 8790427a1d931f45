/**
 * One handler for every Discord interaction, whether it arrived over the gateway (discord.js) or the HTTP
 * interactions endpoint: it works on the raw interaction JSON and answers through Discord's REST API, so both
 * paths behave identically. The first answer (within Discord's 3 seconds) is always a deferral; the real
 * reply follows as an edit of `@original`. Cards are posted and later edited with the bot token through the
 * channel message endpoints, because interaction tokens expire after 15 minutes.
 */
import { type REST, Routes } from 'discord.js';
import type { Dispatcher } from '../core/command/dispatch.js';
import { errorReply, type MessageRef, postedNotice, type Reply } from '../core/command/reply.js';
import type { Logger } from '../core/ports/runtime.js';
import { type DiscordFile, discordFiles, renderDiscord } from './render.js';

export const ROOT_COMMAND = 'qm';
const EPHEMERAL = 1 << 6;

/** The first response: the gateway path POSTs it to the callback endpoint, the HTTP path returns it as the body. */
export type Ack = (body: { type: number; data?: Record<string, unknown> }) => Promise<void>;

export interface DiscordInteractionDeps {
  dispatcher: Dispatcher;
  rest: REST;
  /** True when `rest` carries the bot token (DISCORD_TOKEN): cards are then posted and edited as the bot. */
  hasBotToken: boolean;
  /** DISCORD_ALLOWED_GUILDS: when set, interactions from any other server (or from a DM) are refused. */
  allowedGuilds?: readonly string[] | null;
  logger: Logger;
}

interface RawOption {
  name: string;
  type: number;
  value?: unknown;
  options?: RawOption[];
}

/** `/qm keys list status:active` arrives as a tree: group → subcommand → options. Flatten it to a path and values. */
export function flattenOptions(options: RawOption[] | undefined): { name: string; values: Record<string, unknown> } {
  const path: string[] = [];
  let level = options ?? [];
  for (;;) {
    const nested = level.find((o) => o.type === 1 || o.type === 2);
    if (!nested) break;
    path.push(nested.name);
    level = nested.options ?? [];
  }
  const values: Record<string, unknown> = {};
  for (const o of level) if (o.value !== undefined) values[o.name] = o.value;
  return { name: path.join(' '), values };
}

export async function handleInteraction(deps: DiscordInteractionDeps, raw: any, ack: Ack): Promise<void> {
  const log = deps.logger.child({ adapter: 'discord', interaction: raw?.id });
  const userId: string | undefined = raw.member?.user?.id ?? raw.user?.id;
  const appId: string = raw.application_id;
  // `files` (discordFiles) makes the request multipart: the body goes in payload_json, each file in files[n].
  const webhook = (body: object, files?: DiscordFile[]) =>
    deps.rest.patch(Routes.webhookMessage(appId, raw.token), { body, auth: false, ...(files ? { files } : {}) });
  const followUp = (body: object, files?: DiscordFile[]) =>
    deps.rest.post(Routes.webhook(appId, raw.token), {
      body,
      auth: false,
      query: new URLSearchParams({ wait: 'true' }),
      ...(files ? { files } : {}),
    });

  if (raw.type === 1) return ack({ type: 1 });

  if (deps.allowedGuilds && !(typeof raw.guild_id === 'string' && deps.allowedGuilds.includes(raw.guild_id))) {
    log.warn(
      { guild: raw.guild_id ?? null, type: raw.type, user: userId },
      'discord interaction refused: not from a server in DISCORD_ALLOWED_GUILDS',
    );
    // Autocomplete can only be answered with choices: none.
    if (raw.type === 4) return ack({ type: 8, data: { choices: [] } });
    return ack({
      type: 4,
      data: {
        ...renderDiscord(
          errorReply(
            'Not available here',
            `This Quartermaster serves only the Discord servers its operator allowed (DISCORD_ALLOWED_GUILDS), and this ${raw.guild_id ? 'server' : 'direct message'} is not one of them. Nothing was run.`,
          ),
        ),
        flags: EPHEMERAL,
      },
    });
  }

  if (raw.type === 2) {
    if (raw.data?.name !== ROOT_COMMAND || !userId) {
      return ack({
        type: 4,
        data: { ...renderDiscord(errorReply('Unknown command', 'This is not a Quartermaster command.')) },
      });
    }
    if (!raw.guild_id) {
      return ack({
        type: 4,
        data: {
          ...renderDiscord(
            errorReply(
              'Use Quartermaster in a server',
              'Links and permissions are per server, so `/qm` works in server channels, not in DMs.',
            ),
          ),
        },
      });
    }
    await ack({ type: 5, data: { flags: EPHEMERAL } });
    const { name, values } = flattenOptions(raw.data.options);
    await deps.dispatcher.dispatch({
      platform: 'discord',
      teamId: raw.guild_id,
      userId,
      channelId: raw.channel_id ?? null,
      prefix: `/${ROOT_COMMAND}`,
      input: { kind: 'structured', name, options: values },
      chat: null,
      deliver: async (reply: Reply): Promise<MessageRef | undefined> => {
        // A reply's files travel with it as attachments, public or ephemeral alike.
        const { attachments, files } = discordFiles(reply);
        const body = { ...renderDiscord(reply), ...(attachments ? { attachments } : {}) };
        if (reply.visibility === 'in_channel') {
          // The deferral was ephemeral; the card goes to the channel as its own message, and the caller is told.
          const posted = (await (deps.hasBotToken && raw.channel_id
            ? deps.rest.post(Routes.channelMessages(raw.channel_id), {
                body: { ...body, flags: undefined },
                ...(files ? { files } : {}),
              })
            : followUp({ ...body, flags: undefined }, files))) as { id: string; channel_id: string };
          await webhook(renderDiscord(postedNotice(reply)));
          return { channelId: posted.channel_id, messageId: posted.id };
        }
        await webhook({ ...body, flags: undefined }, files);
      },
    });
    return;
  }

  if (raw.type === 3) {
    // Acknowledge the click at once; the card is edited below once the action has been re-checked.
    await ack({ type: 6 });
    const message = raw.message ?? {};
    const ephemeralCard = ((message.flags ?? 0) & EPHEMERAL) !== 0;
    await deps.dispatcher.dispatchAction({
      platform: 'discord',
      teamId: raw.guild_id ?? '',
      userId: userId ?? '',
      channelId: raw.channel_id ?? null,
      actionId: String(raw.data?.custom_id ?? ''),
      messageId: message.id ?? null,
      chat: null,
      updateCard: async (reply) => {
        const body = { ...renderDiscord(reply), flags: undefined };
        if (deps.hasBotToken && !ephemeralCard && raw.channel_id && message.id) {
          await deps.rest.patch(Routes.channelMessage(raw.channel_id, message.id), { body });
        } else {
          await webhook(body);
        }
      },
      notify: async (reply) => {
        await followUp({ ...renderDiscord(reply), flags: EPHEMERAL });
      },
    });
    return;
  }

  log.warn({ type: raw.type }, 'unsupported interaction type');
  await ack({
    type: 4,
    data: { content: 'Quartermaster does not handle this kind of interaction.', flags: EPHEMERAL },
  });
}
