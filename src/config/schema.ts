/**
 * The operator contract's environment variables (../shared/DESIGN.md), parsed once at start.
 * Every problem is reported at once, each naming its variable.
 */
import { z } from 'zod';

const url = (name: string) =>
  z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v), `${name} must be an http(s) URL`);

const optionalSecret = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** An on/off switch: true/1/yes/on or false/0/no/off (any case); unset is off. */
const flag = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .refine(
      (v) => v === undefined || /^(true|1|yes|on|false|0|no|off|)$/.test(v),
      `${name} must be true or false (1 or 0)`,
    )
    .transform((v) => v !== undefined && /^(true|1|yes|on)$/.test(v));

export const configSchema = z
  .object({
    DATABASE_URL: z
      .string()
      .trim()
      .default('file:./data/quartermaster.db')
      .refine(
        (v) => /^file:.+/.test(v) || /^postgres(ql)?:\/\/.+/.test(v),
        'DATABASE_URL must be file:<path> (SQLite) or postgresql://user@host:port/db (PostgreSQL)',
      ),
    ANTHROPIC_ADMIN_KEY: optionalSecret.refine(
      (v) => v === undefined || ADMIN_KEY_SHAPE.test(v),
      // Never the value: an ordinary API key pasted here is still a secret.
      'ANTHROPIC_ADMIN_KEY must be an Anthropic admin key (sk-ant-admin01-…, created in the Console under Settings → Admin keys); an ordinary API key (sk-ant-api03-…) cannot manage the organization',
    ),
    ANTHROPIC_BASE_URL: url('ANTHROPIC_BASE_URL').optional(),
    SLACK_BOT_TOKEN: optionalSecret.refine(
      (v) => v === undefined || v.startsWith('xoxb-'),
      'SLACK_BOT_TOKEN must be a bot token (xoxb-…)',
    ),
    SLACK_SIGNING_SECRET: optionalSecret,
    SLACK_APP_TOKEN: optionalSecret.refine(
      (v) => v === undefined || v.startsWith('xapp-'),
      'SLACK_APP_TOKEN must be an app-level token (xapp-…)',
    ),
    SLACK_CLIENT_ID: optionalSecret,
    SLACK_CLIENT_SECRET: optionalSecret,
    SLACK_STATE_SECRET: optionalSecret,
    // `*` says, explicitly, that any workspace may install (the OAuth install requires the variable).
    SLACK_ALLOWED_TEAMS: z
      .string()
      .trim()
      .transform((v): string[] | '*' | undefined =>
        v === '' ? undefined : v === '*' ? '*' : v.split(/[\s,]+/).filter(Boolean),
      )
      .refine(
        (v) => v === undefined || v === '*' || v.every((id) => /^[TE][A-Z0-9]{2,}$/.test(id)),
        'SLACK_ALLOWED_TEAMS must be a comma-separated list of Slack team (T…) or Enterprise Grid (E…) ids, or * for any workspace',
      )
      .optional(),
    // Optional (issue 11): a workspace admin's user token (xoxp-…, chat:write) with which a Slack message holding a
    // leaked key is deleted; without it the poster is asked to delete it.
    SLACK_ADMIN_USER_TOKEN: optionalSecret.refine(
      (v) => v === undefined || v.startsWith('xoxp-'),
      'SLACK_ADMIN_USER_TOKEN must be a user token (xoxp-…) of a workspace admin, with the chat:write scope',
    ),
    SLACK_API_URL: url('SLACK_API_URL')
      .default('https://slack.com/api/')
      // WebClient appends the method name directly, so the base must end with a slash.
      .transform((v) => (v.endsWith('/') ? v : `${v}/`)),
    DISCORD_TOKEN: optionalSecret,
    DISCORD_APPLICATION_ID: z
      .string()
      .trim()
      .regex(/^\d{15,21}$/, 'DISCORD_APPLICATION_ID must be the numeric application id')
      .optional(),
    DISCORD_PUBLIC_KEY: z
      .string()
      .trim()
      .regex(/^[0-9a-fA-F]{64}$/, 'DISCORD_PUBLIC_KEY must be the 64-character hex public key')
      .optional(),
    DISCORD_ALLOWED_GUILDS: z
      .string()
      .trim()
      .transform((v) => (v === '' ? undefined : v.split(/[\s,]+/).filter(Boolean)))
      .refine(
        (v) => v === undefined || v.every((id) => /^\d{15,21}$/.test(id)),
        'DISCORD_ALLOWED_GUILDS must be a comma-separated list of Discord server ids (15–21 digit numbers)',
      )
      .optional(),
    DISCORD_API_URL: url('DISCORD_API_URL').default('https://discord.com/api'),
    // Opt-in: the gateway then asks for the privileged Message Content intent (and Guild Messages) to scan messages
    // for leaked keys. The intent must also be switched on in the Developer Portal (Bot → Privileged Gateway Intents).
    DISCORD_MESSAGE_CONTENT: flag('DISCORD_MESSAGE_CONTENT'),
    PORT: z.coerce
      .number({ message: 'PORT must be a number' })
      .int('PORT must be a whole number')
      .min(0, 'PORT must be between 0 and 65535')
      .max(65535, 'PORT must be between 0 and 65535')
      .default(3000),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    QM_POLICY: z.string().trim().optional(),
    // Anyone who can reach the port may try them: long enough not to be guessed (never echoed in the message).
    GITHUB_WEBHOOK_SECRET: optionalSecret.refine(
      (v) => v === undefined || v.length >= 16,
      'GITHUB_WEBHOOK_SECRET is too short: use at least 16 random characters (e.g. openssl rand -hex 32)',
    ),
    LEAK_WEBHOOK_TOKEN: optionalSecret.refine(
      (v) => v === undefined || v.length >= 16,
      'LEAK_WEBHOOK_TOKEN is too short: use at least 16 random characters (e.g. openssl rand -hex 32)',
    ),
    METRICS_TOKEN: optionalSecret,
    NODE_ENV: z.string().optional(),
  })
  // zod skips object refinements after a field's type error (e.g. PORT=abc); `when` runs them anyway so every
  // problem is reported at once. They read only the string fields, which keep their values.
  .superRefine(
    (c, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      // Without a key Quartermaster serves the simulated organization. A key is never invented for a remote
      // Admin API: only a simulator on this machine (loopback) may be used without one, and it is then sent the
      // simulator's public demo key (SIMULATOR_ADMIN_KEY), which is no secret.
      if (
        !c.ANTHROPIC_ADMIN_KEY &&
        c.ANTHROPIC_BASE_URL &&
        /^https?:\/\//.test(c.ANTHROPIC_BASE_URL) &&
        !isLoopbackUrl(c.ANTHROPIC_BASE_URL)
      ) {
        issue(
          'ANTHROPIC_ADMIN_KEY',
          'ANTHROPIC_ADMIN_KEY is required when ANTHROPIC_BASE_URL points at another machine (set both to manage a real organization, or unset ANTHROPIC_BASE_URL for the simulated organization)',
        );
      }
      if (c.SLACK_BOT_TOKEN && !c.SLACK_APP_TOKEN && !c.SLACK_SIGNING_SECRET) {
        issue(
          'SLACK_SIGNING_SECRET',
          'SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN (HTTP mode verifies every request with it)',
        );
      }
      if (c.SLACK_APP_TOKEN && !c.SLACK_BOT_TOKEN) {
        issue(
          'SLACK_BOT_TOKEN',
          'SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN (Socket Mode still calls the Web API as the bot)',
        );
      }
      if (c.SLACK_SIGNING_SECRET && !c.SLACK_BOT_TOKEN && !c.SLACK_CLIENT_ID) {
        issue(
          'SLACK_BOT_TOKEN',
          'SLACK_BOT_TOKEN is required with SLACK_SIGNING_SECRET (or set up OAuth with SLACK_CLIENT_ID)',
        );
      }
      const oauth = [c.SLACK_CLIENT_ID, c.SLACK_CLIENT_SECRET, c.SLACK_STATE_SECRET];
      if (oauth.some(Boolean) && !oauth.every(Boolean)) {
        issue('SLACK_CLIENT_ID', 'SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET must be set together');
      }
      // Slack over HTTP = the signing secret plus either one bot token or the three OAuth variables (each installed
      // workspace then brings its own bot token). A partial OAuth set is reported above.
      if (oauth.every(Boolean)) {
        if (!c.SLACK_SIGNING_SECRET) {
          issue(
            'SLACK_SIGNING_SECRET',
            'SLACK_SIGNING_SECRET is required with SLACK_CLIENT_ID (HTTP mode verifies every request with it)',
          );
        }
        if (c.SLACK_BOT_TOKEN) {
          issue(
            'SLACK_BOT_TOKEN',
            'SLACK_BOT_TOKEN cannot be combined with SLACK_CLIENT_ID: with the OAuth install each workspace has its own bot token (unset SLACK_BOT_TOKEN)',
          );
        }
        if (c.SLACK_APP_TOKEN) {
          issue(
            'SLACK_APP_TOKEN',
            'SLACK_APP_TOKEN cannot be combined with SLACK_CLIENT_ID: the OAuth install runs in HTTP mode (unset SLACK_APP_TOKEN)',
          );
        }
        // With the OAuth install anyone who finds /slack/install could add the app to their workspace: the operator
        // names the workspaces, or says `*` on purpose.
        if (c.SLACK_ALLOWED_TEAMS === undefined) {
          issue(
            'SLACK_ALLOWED_TEAMS',
            'SLACK_ALLOWED_TEAMS is required with SLACK_CLIENT_ID: list the Slack team ids that may install Quartermaster (T…, comma-separated), or set it to * to let any workspace install it',
          );
        }
      }
      if (c.DISCORD_TOKEN && !c.DISCORD_APPLICATION_ID) {
        issue('DISCORD_APPLICATION_ID', 'DISCORD_APPLICATION_ID is required with DISCORD_TOKEN');
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

export type Config = Readonly<z.output<typeof configSchema>>;

/** Variables whose values are secrets: never logged, echoed or stored. */
export const SECRET_VARIABLES = [
  'ANTHROPIC_ADMIN_KEY',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_ADMIN_USER_TOKEN',
  'DISCORD_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  'LEAK_WEBHOOK_TOKEN',
  'METRICS_TOKEN',
] as const;

/**
 * Every configured value that must never reach a log line: the secret variables, and the passwords inside
 * DATABASE_URL (its userinfo and its `password` / `sslpassword` query parameters; as written, percent-encoded,
 * and decoded). Takes the loaded configuration or, where it may not load, the raw environment.
 */
export function secretValues(config: Config | Readonly<Record<string, string | undefined>>): string[] {
  const values: string[] = [];
  for (const k of SECRET_VARIABLES) {
    const v = config[k];
    if (v) values.push(v);
  }
  if (config.DATABASE_URL) values.push(...urlPasswords(config.DATABASE_URL));
  return values;
}

const PASSWORD_PARAMS = ['password', 'sslpassword'];

function urlPasswords(url: string): string[] {
  // The userinfo runs to the last `@` before the host, so a password may hold `@`.
  const written = [/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*?:([^/?#]*)@[^@/?#]*(?:[/?#]|$)/i.exec(url)?.[1]];
  for (const name of PASSWORD_PARAMS) {
    written.push(...[...url.matchAll(new RegExp(`[?&;]${name}=([^&#]*)`, 'gi'))].map((m) => m[1]));
  }
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    written.push(parsed.password);
    for (const name of PASSWORD_PARAMS) written.push(...parsed.searchParams.getAll(name));
  }
  const out = new Set<string>();
  for (const p of written) {
    if (!p) continue;
    out.add(p);
    try {
      out.add(decodeURIComponent(p));
    } catch {
      // Not valid percent-encoding: the written form is all there is.
    }
  }
  return [...out];
}

/** The only shape an Anthropic Admin API key has. */
export const ADMIN_KEY_SHAPE = /^sk-ant-admin01-[\w-]+$/;

/** http://127.0.0.1:…, http://localhost:…, http://[::1]:…: a simulator on this machine. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
