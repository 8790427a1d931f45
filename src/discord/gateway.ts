/**
 * The Discord gateway connection (discord.js). Intents: `Guilds` — interactions arrive without any privileged
 * intent, and each INTERACTION_CREATE is handled from its raw JSON by the same code as the HTTP interactions
 * endpoint. With DISCORD_MESSAGE_CONTENT set (`scan`), also `GuildMessages` and the privileged `MessageContent`:
 * every new and edited server message is scanned for leaked Anthropic keys (reportChatMessage). Direct messages
 * are not asked for: Quartermaster works in servers only, and a key sent to the bot alone is seen by nobody else.
 * Messages are never cached, so no message text (nor a key in it) stays in memory after it was scanned.
 */
import {
  Client,
  Events,
  GatewayIntentBits,
  type Message,
  Options,
  type PartialMessage,
  Partials,
  Routes,
} from 'discord.js';
import { SECRET_PREFIX } from '../core/leaks/detect.js';
import { reportChatMessage } from '../core/leaks/incidents.js';
import type { Logger } from '../core/ports/runtime.js';
import type { Services } from '../core/services.js';
import { type DiscordInteractionDeps, handleInteraction } from './interactions.js';

export interface DiscordGatewayOptions extends Omit<DiscordInteractionDeps, 'rest' | 'hasBotToken'> {
  token: string;
  /** DISCORD_API_URL: the REST base, from which discord.js also discovers the gateway (GET /gateway/bot). */
  apiUrl: string;
  /** DISCORD_MESSAGE_CONTENT: scan server messages for leaked keys with these services; null or absent: no scanning. */
  scan?: Services | null;
}

export interface DiscordGateway {
  client: Client;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The intents Quartermaster identifies with: Guilds, plus GuildMessages and MessageContent when it scans messages. */
export function gatewayIntents(scan: boolean): GatewayIntentBits[] {
  return scan
    ? [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent]
    : [GatewayIntentBits.Guilds];
}

export function createDiscordGateway(o: DiscordGatewayOptions): DiscordGateway {
  const logger: Logger = o.logger.child({ adapter: 'discord' });
  const client = new Client({
    intents: gatewayIntents(Boolean(o.scan)),
    rest: { api: o.apiUrl },
    // An edit of a message the bot never cached (none is) still arrives, with the message as Discord sends it.
    partials: o.scan ? [Partials.Message] : [],
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
  });
  const deps: DiscordInteractionDeps = { ...o, logger, rest: client.rest, hasBotToken: true };

  client.on(Events.Raw, (packet: { t?: string; d?: any }) => {
    if (packet.t !== 'INTERACTION_CREATE' || !packet.d) return;
    const raw = packet.d;
    const ack = async (body: object) => {
      await client.rest.post(Routes.interactionCallback(raw.id, raw.token), { body, auth: false });
    };
    handleInteraction(deps, raw, ack).catch((err) =>
      logger.error({ err, interaction: raw.id }, 'discord interaction failed'),
    );
  });
  const services = o.scan;
  if (services) {
    // On the dispatcher's work queue, as Slack's scans: a poster's flood waits its turn instead of running all at
    // once beside everyone's commands, and a shutdown lets a scan in flight finish.
    const scan = (message: Message | PartialMessage, edited: boolean) => {
      if (!message.guildId || (o.allowedGuilds && !o.allowedGuilds.includes(message.guildId))) return Promise.resolve();
      if (!message.partial && !messageText(message).includes(SECRET_PREFIX)) return Promise.resolve();
      const owner = {
        platform: 'discord' as const,
        teamId: message.guildId,
        userId: `scan:${message.author?.id ?? ''}`,
      };
      return o.dispatcher
        .background(owner, (s) => scanMessage(s, client, o.allowedGuilds ?? null, message, edited))
        .catch((err) =>
          logger.error(
            { err, guild: message.guildId, channel: message.channelId, message: message.id },
            'discord message scan failed',
          ),
        );
    };
    client.on(Events.MessageCreate, (message) => void scan(message, false));
    client.on(Events.MessageUpdate, (_old, message) => void scan(message, true));
  }
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  let lastCloseCode: number | null = null;
  client.on(Events.ShardDisconnect, (event) => {
    lastCloseCode = event.code;
    logger.warn({ code: event.code }, 'discord gateway disconnected');
  });

  return {
    client,
    async start() {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      lastCloseCode = null;
      await client.login(o.token).catch((err) => {
        // The gateway's "Authentication failed" (close 4004) is the same refusal as a 401 from /gateway/bot
        // (which discord.js reports as TokenInvalid): report both alike.
        if (lastCloseCode === 4004)
          throw Object.assign(new Error('the gateway refused the token (4004)'), { code: 'TokenInvalid' });
        // 4014: a privileged intent (Message Content, with DISCORD_MESSAGE_CONTENT) not enabled for the bot.
        if (lastCloseCode === 4014)
          throw Object.assign(new Error('the gateway refused the Message Content intent (4014)'), {
            code: 'DisallowedIntents',
          });
        throw err;
      });
      await ready;
      logger.info(
        { user: client.user?.tag, guilds: client.guilds.cache.size, scanning: Boolean(o.scan) },
        'discord connected',
      );
    },
    async stop() {
      await client.destroy();
    },
  };
}

/**
 * One server message, new or edited: skipped when it is from a bot (Quartermaster's own cards included), from a
 * server not in DISCORD_ALLOWED_GUILDS, or an update that is no edit (Discord adding a link preview); otherwise
 * its text goes to the core, which alerts, tells the poster, and deletes it through the notifier (Manage Messages).
 */
async function scanMessage(
  services: Services,
  client: Client,
  allowedGuilds: readonly string[] | null,
  message: Message | PartialMessage,
  edited: boolean,
): Promise<void> {
  const guildId = message.guildId;
  if (!guildId) return;
  if (allowedGuilds && !allowedGuilds.includes(guildId)) return;
  // An update without its content (an older gateway version): read the message as it is now.
  const m = message.partial ? await message.fetch() : message;
  if (edited && m.editedTimestamp === null) return;
  if (!m.author || m.author.bot || m.author.id === client.user?.id || m.system || m.webhookId) return;
  const text = messageText(m);
  if (!text.includes(SECRET_PREFIX)) return;
  const notifier = services.notifiers.discord;
  await reportChatMessage(
    services,
    {
      platform: 'discord',
      teamId: guildId,
      channelId: m.channelId,
      messageId: m.id,
      userId: m.author.id,
      text,
      permalink: `https://discord.com/channels/${guildId}/${m.channelId}/${m.id}`,
      edited,
    },
    notifier?.deleteMessage ? { deleteMessage: () => notifier.deleteMessage!(guildId, m.channelId, m.id) } : {},
  );
}

/** All the text a person can put in a message: its content, its embeds' text, and what it forwards. */
export function messageText(m: Message): string {
  const parts: string[] = [m.content ?? ''];
  const embeds = (list: Message['embeds']) => {
    for (const e of list) {
      parts.push(e.title ?? '', e.description ?? '', e.url ?? '', e.author?.name ?? '', e.footer?.text ?? '');
      for (const f of e.fields) parts.push(f.name, f.value);
    }
  };
  embeds(m.embeds);
  for (const snapshot of m.messageSnapshots?.values() ?? []) {
    parts.push(snapshot.content ?? '');
    embeds(snapshot.embeds ?? []);
  }
  return parts.filter(Boolean).join('\n');
}
