/**
 * `npx quartermaster digest --dry-run [--date YYYY-MM-DD] [--format text|json] [--out FILE.png] [--tz ZONE]`:
 * prints the usage digest of one day (default yesterday, in UTC or in --tz), after syncing whatever that day needs
 * (the day and the 30 days before it) from the Admin API's reports. Nothing is posted.
 */
import { writeFileSync } from 'node:fs';
import { type OptionSpecs, parseCommandLine, UsageError } from './args.js';
import { buildCliCore } from './core.js';
import { printError, printLine } from './output.js';

export const DIGEST_USAGE = `Usage: npx quartermaster digest --dry-run [--date YYYY-MM-DD] [--format text|json] [--out FILE.png] [--tz ZONE]
       npx quartermaster digest send --channel ID [--platform slack|discord] [--team ID] [--date YYYY-MM-DD]

  --dry-run         print the digest here instead of posting it (syncing the reports it needs first)
  --date D          the day reported (UTC), default yesterday
  --tz ZONE         with no --date: "yesterday" in this IANA time zone (e.g. Europe/Berlin)
  --format F        text (default) or json (every number shown; USD as exact decimal strings)
  --out FILE.png    also write the chart (cost per day over 30 days, stacked by workspace)`;

export const DIGEST_OPTIONS: OptionSpecs = {
  'dry-run': { type: 'boolean' },
  date: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  tz: { type: 'string' },
  channel: { type: 'string' },
};

const DAY_MS = 86_400_000;

/** A real calendar day as YYYY-MM-DD → its UTC midnight; null for anything else (2026-02-30 included). */
export function parseDay(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text ? d : null;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export async function runDigestCli(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; out?: (line: string) => void; err?: (line: string) => void } = {},
): Promise<number> {
  const out = o.out ?? printLine;
  const err = o.err ?? printError;
  const cl = parseCommandLine(args, DIGEST_USAGE, DIGEST_OPTIONS, { max: 1 });
  if (cl.help) {
    console.log(DIGEST_USAGE);
    return 0;
  }
  const [sub] = cl.positionals;
  // `digest send` is routed to ./digest-send.ts by src/cli/main.ts before this parser sees it.
  if (sub !== undefined) throw new UsageError(`Unknown digest command "${sub}": use --dry-run or send.`, DIGEST_USAGE);
  if (!cl.values['dry-run']) throw new UsageError('Say --dry-run to print a digest here.', DIGEST_USAGE);
  const format = (cl.values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format must be text or json (you typed ${format}).`, DIGEST_USAGE);
  }
  const tz = cl.values.tz as string | undefined;
  if (tz !== undefined && !validZone(tz)) {
    throw new UsageError(`--tz ${tz} is not an IANA time zone (e.g. UTC, Europe/Berlin).`, DIGEST_USAGE);
  }
  const dateText = cl.values.date as string | undefined;
  let day: Date | null = null;
  if (dateText !== undefined) {
    day = parseDay(dateText);
    if (!day) throw new UsageError(`--date must be a day as YYYY-MM-DD (you typed ${dateText}).`, DIGEST_USAGE);
  }
  const outFile = cl.values.out as string | undefined;
  if (outFile !== undefined && !/\.png$/i.test(outFile)) {
    throw new UsageError(`--out must name a .png file (you typed ${outFile}).`, DIGEST_USAGE);
  }

  const [core, { buildDigest, defaultDigestDay, digestJson, digestText, digestChartInput }, { ensureSpendData }] =
    await Promise.all([
      buildCliCore(o.env ?? process.env),
      import('../core/spend/digest.js'),
      import('../core/spend/sync.js'),
    ]);
  try {
    if (core.simulator) {
      err('Note: ANTHROPIC_ADMIN_KEY is not set, so this is the digest of the simulated organization.');
    }
    const now = core.services.clock.now();
    const reported = day ?? defaultDigestDay(now, tz);
    if (reported.getTime() >= Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS) {
      throw new UsageError(`--date ${dateText} is in the future.`, DIGEST_USAGE);
    }
    // The day and the 30 days before it: the 7-day average, the month to date and the 30-day chart.
    await ensureSpendData(core.services, {
      from: new Date(reported.getTime() - 30 * DAY_MS),
      to: new Date(reported.getTime() + DAY_MS),
    });
    const started = performance.now();
    const digest = await buildDigest(core.services, { day: reported });
    core.services.logger.info(
      { day: digest.day.toISOString().slice(0, 10), ms: Math.round(performance.now() - started) },
      'digest computed from the stored reports',
    );
    if (format === 'json') out(JSON.stringify(digestJson(digest), null, 2));
    else out(digestText(digest));
    if (outFile !== undefined) {
      const { renderCostChart } = await import('../charts/cost-chart.js');
      const png = await renderCostChart(digestChartInput(digest));
      writeFileSync(outFile, png);
      err(`Wrote the chart to ${outFile} (${png.byteLength} bytes).`);
    }
    return 0;
  } finally {
    await core.close();
  }
}
