/**
 * `POST /discord/interactions` (when DISCORD_PUBLIC_KEY is set): Discord signs `timestamp + body` with the
 * application's Ed25519 key. Anything unsigned, wrongly signed or older than 5 minutes gets 401 (Discord
 * itself probes the endpoint with bad signatures and expects that). PING is answered with PONG; the rest goes
 * through the same handler as the gateway path, the first answer being this HTTP response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyKey } from 'discord-interactions';
import type { Logger } from '../core/ports/runtime.js';
import { MAX_BODY_BYTES } from '../http/server.js';
import { type DiscordInteractionDeps, handleInteraction } from './interactions.js';

const MAX_AGE_S = 300;
const MAX_BODY = MAX_BODY_BYTES;

export function discordInteractionsEndpoint(
  deps: DiscordInteractionDeps & { publicKey: string; now?: () => number },
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const logger: Logger = deps.logger.child({ adapter: 'discord-http' });
  return async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const signature = String(req.headers['x-signature-ed25519'] ?? '');
    const timestamp = String(req.headers['x-signature-timestamp'] ?? '');
    const now = Math.floor((deps.now?.() ?? Date.now()) / 1000);
    const fresh = /^\d+$/.test(timestamp) && Math.abs(now - Number(timestamp)) <= MAX_AGE_S;
    const valid =
      fresh &&
      /^[0-9a-f]{128}$/i.test(signature) &&
      (await verifyKey(body, signature, timestamp, deps.publicKey).catch(() => false));
    if (!valid) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request signature');
      return;
    }
    let raw: any;
    try {
      raw = JSON.parse(body);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid JSON');
      return;
    }
    let answered = false;
    await handleInteraction(deps, raw, async (first) => {
      if (answered) throw new Error('interaction already answered');
      answered = true;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(first));
    }).catch((err) => {
      logger.error({ err, interaction: raw?.id }, 'discord interaction failed');
      if (!answered) res.writeHead(500).end();
    });
  };
}
