/**
 * The Discord gateway connection (discord.js). Intents: only `Guilds` — interactions arrive without any
 * privileged intent, and Quartermaster reads no messages or member lists here. Each INTERACTION_CREATE is
 * handled from its raw JSON by the same code as the HTTP interactions endpoint.
 */
import { Client, Events, GatewayIntentBits, Routes } from 'discord.js';
import type { Logger } from '../core/ports/runtime.js';
import { type DiscordInteractionDeps, handleInteraction } from './interactions.js';

export interface DiscordGatewayOptions extends Omit<DiscordInteractionDeps, 'rest' | 'hasBotToken'> {
  token: string;
  /** DISCORD_API_URL: the REST base, from which discord.js also discovers the gateway (GET /gateway/bot). */
  apiUrl: string;
}

export interface DiscordGateway {
  client: Client;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createDiscordGateway(o: DiscordGatewayOptions): DiscordGateway {
  const logger: Logger = o.logger.child({ adapter: 'discord' });
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: o.apiUrl } });
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
        throw err;
      });
      await ready;
      logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord connected');
    },
    async stop() {
      await client.destroy();
    },
  };
}
