import { isDomainError } from '../core/errors.js';
import { sendDigestNow } from '../core/spend/digest-send.js';
import { parseCommandLine, UsageError } from './args.js';
import { buildCliCore } from './core.js';
import { printError, printLine } from './output.js';

export const DIGEST_SEND_USAGE = `Usage: npx quartermaster digest send --channel ID [--platform slack|discord] [--team ID] [--date YYYY-MM-DD]

Posts the digest for one UTC day (default yesterday) to a channel now, with its chart.
  --channel   the Slack channel id (C0123ABCD) or Discord channel id to post to; the bot must be in it
  --platform  slack (default) or discord; that platform's bot token must be configured
  --team      the Slack workspace id (T0123ABCD), needed when Slack is installed through OAuth
  --date      the UTC day to report on (default yesterday)`;

const DAY_MS = 86_400_000;

export interface DigestSendCliOptions {
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function runDigestSend(args: string[], o: DigestSendCliOptions = {}): Promise<number> {
  const out = o.out ?? printLine;
  const err = o.err ?? printError;
  const cl = parseCommandLine(args, DIGEST_SEND_USAGE, {
    channel: { type: 'string' },
    platform: { type: 'string' },
    team: { type: 'string' },
    date: { type: 'string' },
  });
  if (cl.help) {
    out(DIGEST_SEND_USAGE);
    return 0;
  }
  const v = cl.values as Record<string, string | undefined>;
  const channel = v.channel?.trim();
  if (!channel) throw new UsageError('digest send needs --channel ID: the channel to post to.', DIGEST_SEND_USAGE);
  const platform = v.platform ?? 'slack';
  if (platform !== 'slack' && platform !== 'discord') {
    throw new UsageError(`--platform is slack or discord, not "${platform}".`, DIGEST_SEND_USAGE);
  }
  let day: Date | undefined;
  if (v.date !== undefined) {
    day = new Date(`${v.date}T00:00:00Z`);
    if (
      !/^\d{4}-\d{2}-\d{2}$/.test(v.date) ||
      Number.isNaN(day.getTime()) ||
      day.toISOString().slice(0, 10) !== v.date
    ) {
      throw new UsageError(`--date takes a day as YYYY-MM-DD, not "${v.date}".`, DIGEST_SEND_USAGE);
    }
    if (day.getTime() + DAY_MS > Date.now()) {
      throw new UsageError(`${v.date} is not over yet in UTC: a digest reports on a complete day.`, DIGEST_SEND_USAGE);
    }
  }

  const core = await buildCliCore(o.env ?? process.env);
  try {
    if (core.simulator) err('Note: ANTHROPIC_ADMIN_KEY is not set, so this reports on a simulated organization.');
    const sent = await sendDigestNow(core.services, { platform, teamId: v.team ?? '', channelId: channel, day });
    out(`Posted the digest for ${sent.day.toISOString().slice(0, 10)} to ${platform} channel ${channel}.`);
    return 0;
  } catch (e) {
    if (isDomainError(e)) {
      err(e.userMessage);
      return 78;
    }
    const detail = (e as { data?: { error?: string }; message?: string }).data?.error ?? (e as Error).message;
    err(`Posting the digest to ${platform} channel ${channel} failed: ${detail}`);
    return 1;
  } finally {
    await core.close();
  }
}
