/** The operator contract's environment: every problem reported at once, each naming its variable; documented defaults. */

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { secretValues } from '../src/config/schema.js';
import { createLogger } from '../src/log/logger.js';

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

const SLACK_OK = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'shh-signing-secret' };

describe('loadConfig defaults', () => {
  it('starts with nothing configured, on the documented defaults', () => {
    const c = loadConfig({});
    expect(c.DATABASE_URL).toBe('file:./data/quartermaster.db');
    expect(c.PORT).toBe(3000);
    expect(c.HOST).toBe('0.0.0.0');
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.SLACK_API_URL).toBe('https://slack.com/api/');
    expect(c.DISCORD_API_URL).toBe('https://discord.com/api');
    expect(c.ANTHROPIC_ADMIN_KEY).toBeUndefined();
    expect(c.SLACK_BOT_TOKEN).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    const c = loadConfig({ DATABASE_URL: '', PORT: '', SLACK_BOT_TOKEN: '', LOG_LEVEL: '' });
    expect(c.DATABASE_URL).toBe('file:./data/quartermaster.db');
    expect(c.PORT).toBe(3000);
    expect(c.SLACK_BOT_TOKEN).toBeUndefined();
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('adds the trailing slash the Slack WebClient needs', () => {
    expect(loadConfig({ SLACK_API_URL: 'http://127.0.0.1:9999/api' }).SLACK_API_URL).toBe('http://127.0.0.1:9999/api/');
    expect(loadConfig({ SLACK_API_URL: 'http://127.0.0.1:9999/api/' }).SLACK_API_URL).toBe(
      'http://127.0.0.1:9999/api/',
    );
  });

  it('reads valid values', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgresql://qm@db:5432/qm',
      PORT: ' 8080 ',
      ...SLACK_OK,
      ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-abc',
    });
    expect(c).toMatchObject({ DATABASE_URL: 'postgresql://qm@db:5432/qm', PORT: 8080, ...SLACK_OK });
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y' }).DATABASE_URL).toBe('postgres://x/y');
    expect(loadConfig({ DATABASE_URL: 'file:/var/qm.db' }).DATABASE_URL).toBe('file:/var/qm.db');
  });

  it('returns a frozen object and reads only the contract variables', () => {
    const c = loadConfig({ PATH: '/usr/bin', UNRELATED: 'x' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(c).not.toHaveProperty('PATH');
    expect(c).not.toHaveProperty('UNRELATED');
  });
});

describe('loadConfig problems', () => {
  it('reports all problems at once, each naming its variable', () => {
    const found = problems({
      PORT: 'abc',
      DATABASE_URL: 'mysql://root@localhost/qm',
      SLACK_BOT_TOKEN: 'xoxp-user-token',
    });
    expect(found).toHaveLength(4);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT must be a number/),
        expect.stringMatching(/^DATABASE_URL must be file:<path> \(SQLite\) or postgresql:/),
        expect.stringMatching(/^SLACK_BOT_TOKEN must be a bot token \(xoxb-…\)/),
        expect.stringMatching(/^SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN/),
      ]),
    );
  });

  it('still reports a missing signing secret when another variable has a type error', () => {
    const found = problems({ PORT: 'abc', SLACK_BOT_TOKEN: 'xoxb-1-2-abc' });
    expect(found).toEqual(['PORT must be a number', expect.stringMatching(/^SLACK_SIGNING_SECRET is required/)]);
  });

  it('says the whole list in the error message', () => {
    try {
      loadConfig({ PORT: '70000', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'Quartermaster cannot start: the configuration has 2 problems:\n' +
          '  - PORT must be between 0 and 65535\n' +
          '  - LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      );
    }
  });

  it.each([
    [{ PORT: '-1' }, 'PORT must be between 0 and 65535'],
    [{ PORT: '3.5' }, 'PORT must be a whole number'],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, 'SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN'],
    [{ SLACK_APP_TOKEN: 'xapp-1' }, 'SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN'],
    [{ ...SLACK_OK, SLACK_APP_TOKEN: 'xoxb-wrong' }, 'SLACK_APP_TOKEN must be an app-level token'],
    [{ SLACK_SIGNING_SECRET: 'shh-signing' }, 'SLACK_BOT_TOKEN is required with SLACK_SIGNING_SECRET'],
    [{ SLACK_CLIENT_ID: '123.456' }, 'SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET'],
    [{ DISCORD_TOKEN: 'discord-token' }, 'DISCORD_APPLICATION_ID is required with DISCORD_TOKEN'],
    [{ DISCORD_PUBLIC_KEY: 'nothex' }, 'DISCORD_PUBLIC_KEY must be the 64-character hex public key'],
    [{ ANTHROPIC_ADMIN_KEY: 'not-a-key' }, 'ANTHROPIC_ADMIN_KEY must be an Anthropic admin key'],
    [{ ANTHROPIC_ADMIN_KEY: `sk-ant-api03-${'k'.repeat(93)}AA` }, 'an ordinary API key (sk-ant-api03-…) cannot'],
    [{ ANTHROPIC_ADMIN_KEY: 'sk-ant-oat01-abc' }, 'ANTHROPIC_ADMIN_KEY must be an Anthropic admin key'],
    [{ ANTHROPIC_BASE_URL: 'ftp://x' }, 'ANTHROPIC_BASE_URL must be an http(s) URL'],
    [{ SLACK_API_URL: 'slack.com/api' }, 'SLACK_API_URL must be an http(s) URL'],
  ])('%o → %s', (env, message) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  describe('Slack OAuth install (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET)', () => {
    const OAUTH = { SLACK_CLIENT_ID: '123.456', SLACK_CLIENT_SECRET: 'client-secret', SLACK_STATE_SECRET: 'state' };

    it('accepts the signing secret with the three OAuth variables and no bot token', () => {
      const c = loadConfig({
        ...OAUTH,
        SLACK_SIGNING_SECRET: 'shh-signing',
        SLACK_BOT_TOKEN: '',
        SLACK_ALLOWED_TEAMS: 'T0QM',
      });
      expect(c).toMatchObject({ ...OAUTH, SLACK_SIGNING_SECRET: 'shh-signing' });
      expect(c.SLACK_BOT_TOKEN).toBeUndefined();
    });

    it.each([
      [{ ...OAUTH }, 'SLACK_SIGNING_SECRET is required with SLACK_CLIENT_ID'],
      [{ ...OAUTH, ...SLACK_OK }, 'SLACK_BOT_TOKEN cannot be combined with SLACK_CLIENT_ID'],
      [
        { ...OAUTH, SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xapp-1', SLACK_BOT_TOKEN: 'xoxb-1' },
        'SLACK_APP_TOKEN cannot be combined with SLACK_CLIENT_ID',
      ],
      [{ SLACK_CLIENT_ID: '1.2', SLACK_CLIENT_SECRET: 'x', SLACK_SIGNING_SECRET: 's' }, 'must be set together'],
    ])('%o → %s', (env, message) => {
      expect(problems(env)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
    });

    it('requires SLACK_ALLOWED_TEAMS, in one sentence naming it', () => {
      expect(problems({ ...OAUTH, SLACK_SIGNING_SECRET: 'shh-signing' })).toEqual([
        'SLACK_ALLOWED_TEAMS is required with SLACK_CLIENT_ID: list the Slack team ids that may install Quartermaster (T…, comma-separated), or set it to * to let any workspace install it',
      ]);
      expect(problems({ ...OAUTH, SLACK_SIGNING_SECRET: 'shh-signing', SLACK_ALLOWED_TEAMS: ' ' })).toEqual([
        expect.stringContaining('SLACK_ALLOWED_TEAMS is required with SLACK_CLIENT_ID'),
      ]);
    });

    it('accepts an explicit * for any workspace', () => {
      const c = loadConfig({ ...OAUTH, SLACK_SIGNING_SECRET: 'shh-signing', SLACK_ALLOWED_TEAMS: '*' });
      expect(c.SLACK_ALLOWED_TEAMS).toBe('*');
    });
  });

  it('accepts Slack in Socket Mode without a signing secret', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' })).not.toThrow();
  });

  it('never echoes a secret value in a problem', () => {
    const admin = 'sk-ant-api03-SECRET-VALUE-123';
    const bot = 'xoxp-SECRET-VALUE-456';
    const found = problems({ ANTHROPIC_ADMIN_KEY: admin, SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: 's' });
    expect(found.join('\n')).not.toContain('SECRET-VALUE');
  });
});

describe('the Admin API without a key', () => {
  it.each(['https://api.anthropic.com', 'https://admin-proxy.example.com', 'http://10.0.0.5:4010'])(
    'refuses ANTHROPIC_BASE_URL=%s without ANTHROPIC_ADMIN_KEY, naming both variables',
    (url) => {
      const found = problems({ ANTHROPIC_BASE_URL: url });
      expect(found).toEqual([
        'ANTHROPIC_ADMIN_KEY is required when ANTHROPIC_BASE_URL points at another machine (set both to manage a real organization, or unset ANTHROPIC_BASE_URL for the simulated organization)',
      ]);
    },
  );
  it.each(['http://127.0.0.1:4010', 'http://localhost:4010', 'http://[::1]:4010'])(
    'allows a simulator on this machine (%s) without a key: it gets the public demo key',
    (url) => {
      expect(loadConfig({ ANTHROPIC_BASE_URL: url }).ANTHROPIC_BASE_URL).toBe(url);
    },
  );
});

describe('SLACK_ALLOWED_TEAMS', () => {
  it('parses a comma- or space-separated list of team and enterprise ids', () => {
    expect(loadConfig({ SLACK_ALLOWED_TEAMS: 'T0QM, E0ACME T0TWO' }).SLACK_ALLOWED_TEAMS).toEqual([
      'T0QM',
      'E0ACME',
      'T0TWO',
    ]);
  });
  it('names the variable for anything else, including * mixed with ids', () => {
    expect(() => loadConfig({ SLACK_ALLOWED_TEAMS: 'acme' })).toThrow(
      /SLACK_ALLOWED_TEAMS must be a comma-separated list/,
    );
    expect(() => loadConfig({ SLACK_ALLOWED_TEAMS: 'T0QM,*' })).toThrow(/or \* for any workspace/);
  });
});

describe('the webhook secrets', () => {
  it('refuse a value short enough to guess, naming the variable and not the value', () => {
    expect(problems({ GITHUB_WEBHOOK_SECRET: 'abc123', LEAK_WEBHOOK_TOKEN: 'x' })).toEqual([
      'GITHUB_WEBHOOK_SECRET is too short: use at least 16 random characters (e.g. openssl rand -hex 32)',
      'LEAK_WEBHOOK_TOKEN is too short: use at least 16 random characters (e.g. openssl rand -hex 32)',
    ]);
    const long = 'f'.repeat(16);
    expect(loadConfig({ GITHUB_WEBHOOK_SECRET: long, LEAK_WEBHOOK_TOKEN: long }).LEAK_WEBHOOK_TOKEN).toBe(long);
  });
});

describe('SLACK_ADMIN_USER_TOKEN', () => {
  const TOKEN = 'xoxp-1234-5678-9012-abcdefabcdef';
  it('takes a user token, and refuses anything else without echoing it', () => {
    expect(loadConfig({ ...SLACK_OK, SLACK_ADMIN_USER_TOKEN: TOKEN }).SLACK_ADMIN_USER_TOKEN).toBe(TOKEN);
    expect(loadConfig({ ...SLACK_OK, SLACK_ADMIN_USER_TOKEN: ' ' }).SLACK_ADMIN_USER_TOKEN).toBeUndefined();
    const refused = problems({ ...SLACK_OK, SLACK_ADMIN_USER_TOKEN: 'xoxb-1-2-not-a-user-token' });
    expect(refused).toEqual([
      'SLACK_ADMIN_USER_TOKEN must be a user token (xoxp-…) of a workspace admin, with the chat:write scope',
    ]);
  });
  it('is a secret: never in a log line, as a field or in a message', () => {
    const config = loadConfig({ ...SLACK_OK, SLACK_ADMIN_USER_TOKEN: TOKEN });
    expect(secretValues(config)).toContain(TOKEN);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger({ level: 'info', destination, secrets: secretValues(config) });
    // Glued to a word, the token-shape pattern misses it; the configured value is scrubbed all the same.
    logger.info({ adminUserToken: TOKEN, detail: `auth${TOKEN}` }, `using ${TOKEN}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(TOKEN.slice(5));
  });
});

describe('DISCORD_ALLOWED_GUILDS', () => {
  it('parses a comma- or space-separated list of server ids', () => {
    expect(
      loadConfig({ DISCORD_ALLOWED_GUILDS: '140000000000000001, 140000000000000002 1400000000000000003' })
        .DISCORD_ALLOWED_GUILDS,
    ).toEqual(['140000000000000001', '140000000000000002', '1400000000000000003']);
    expect(loadConfig({ DISCORD_ALLOWED_GUILDS: '' }).DISCORD_ALLOWED_GUILDS).toBeUndefined();
  });
  it.each(['my-server', '12345', '140000000000000001,T0QM', '*'])('refuses %s, naming the variable', (value) => {
    expect(problems({ DISCORD_ALLOWED_GUILDS: value })).toEqual([
      'DISCORD_ALLOWED_GUILDS must be a comma-separated list of Discord server ids (15–21 digit numbers)',
    ]);
  });
});

describe('DISCORD_MESSAGE_CONTENT', () => {
  it('is off unless set to true, 1, yes or on (any case)', () => {
    expect(loadConfig({}).DISCORD_MESSAGE_CONTENT).toBe(false);
    for (const on of ['true', '1', 'TRUE', ' yes ', 'on'])
      expect(loadConfig({ DISCORD_MESSAGE_CONTENT: on }).DISCORD_MESSAGE_CONTENT).toBe(true);
    for (const off of ['false', '0', 'no', 'off', ''])
      expect(loadConfig({ DISCORD_MESSAGE_CONTENT: off }).DISCORD_MESSAGE_CONTENT).toBe(false);
  });
  it('refuses anything else, naming the variable', () => {
    expect(problems({ DISCORD_MESSAGE_CONTENT: 'enabled' })).toEqual([
      'DISCORD_MESSAGE_CONTENT must be true or false (1 or 0)',
    ]);
  });
});
