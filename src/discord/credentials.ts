/**
 * Checks DISCORD_TOKEN with Discord's REST API (GET /users/@me), once, so start-up can tell a refused token
 * from an unreachable Discord.
 */
import { type CredentialCheck, networkReason } from '../core/ports/credentials.js';

const TIMEOUT_MS = 10_000;

export async function checkDiscordToken(apiUrl: string, token: string): Promise<CredentialCheck> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl.replace(/\/+$/, '')}/v10/users/@me`, {
      headers: { authorization: `Bot ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    return { status: 'unreachable', detail: `Discord unreachable: ${networkReason(err)} (DISCORD_API_URL).` };
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    return {
      status: 'rejected',
      detail: `Discord rejected DISCORD_TOKEN (${res.status}): the token is wrong or was reset; set it to the bot token from the Developer Portal (Bot → Reset Token).`,
    };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { status: 'unreachable', detail: `Discord unreachable: HTTP ${res.status} at DISCORD_API_URL.` };
  }
  const me = (await res.json().catch(() => ({}))) as { username?: string; id?: string };
  return { status: 'ok', detail: `Discord accepted DISCORD_TOKEN (bot ${me.username ?? me.id ?? 'user'}).` };
}
