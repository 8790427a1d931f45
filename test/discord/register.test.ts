/**
 * registerDiscordCommands against a tiny local server speaking Discord's REST for application commands
 * (GET / PUT /api/v10/applications/{app}/commands and the guild variant), Bot auth checked. Deliberately
 * independent of the full fake in test/fakes/discord.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { commands } from '../../commands/index.js';
import { CommandRegistry, defineCommand } from '../../src/core/command/define.js';
import { runDiscordRegister } from '../../src/discord/cli.js';
import { discordCommands } from '../../src/discord/commands-json.js';
import { DiscordRegisterError, registerDiscordCommands, sameCommands } from '../../src/discord/register.js';

const APP = '111111111111111111';
const GUILD = '222222222222222222';
const TOKEN = 'good-bot-token';

interface Call {
  method: string;
  path: string;
}

/** Discord's side: stored commands per scope, with the fields Discord adds on the way out. */
class FakeCommandsApi {
  readonly calls: Call[] = [];
  readonly scopes = new Map<string, any[]>();
  private nextId = 1n;
  server!: Server;
  url = '';

  async start() {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api`;
  }

  stop() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset() {
    this.calls.length = 0;
    this.scopes.clear();
  }

  puts(path?: string) {
    return this.calls.filter((c) => c.method === 'PUT' && (!path || c.path === path));
  }

  private send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url!, 'http://x').pathname;
    this.calls.push({ method: req.method!, path });
    if (req.headers.authorization !== `Bot ${TOKEN}`) {
      return this.send(res, 401, { message: '401: Unauthorized', code: 0 });
    }
    const m = /^\/api\/v10\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path);
    if (!m) return this.send(res, 404, { message: '404: Not Found', code: 0 });
    if (m[1] !== APP) return this.send(res, 403, { message: 'Missing Access', code: 50001 });
    if (m[2] && m[2] !== GUILD) return this.send(res, 403, { message: 'Missing Access', code: 50001 });
    const scope = m[2] ?? 'global';
    if (req.method === 'GET') return this.send(res, 200, this.scopes.get(scope) ?? []);
    if (req.method === 'PUT') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (!Array.isArray(body)) return this.send(res, 400, { message: 'Invalid Form Body', code: 50035 });
      const stored = body.map((c: any) => this.asDiscordReturnsIt(c, m[2]));
      this.scopes.set(scope, stored);
      return this.send(res, 200, stored);
    }
    return this.send(res, 405, { message: '405: Method Not Allowed', code: 0 });
  }

  /** What Discord sends back: ids, version, nulls for absent fields, `nsfw: false`, reordered keys. */
  private asDiscordReturnsIt(c: any, guildId: string | undefined) {
    const withDefaults = (o: any): any => ({
      ...(o.type === 1 || o.type === 2 ? {} : { required: o.required ?? false }),
      name_localizations: null,
      description_localizations: null,
      ...o,
      ...(o.options ? { options: o.options.map(withDefaults) } : {}),
    });
    return {
      id: String(this.nextId++),
      application_id: APP,
      version: String(Date.now()),
      default_member_permissions: null,
      type: c.type ?? 1,
      dm_permission: false,
      nsfw: false,
      ...(guildId ? { guild_id: guildId } : {}),
      name: c.name,
      description: c.description,
      contexts: c.contexts ?? null,
      integration_types: c.integration_types ?? [0],
      options: (c.options ?? []).map(withDefaults),
    };
  }
}

const api = new FakeCommandsApi();
beforeAll(() => api.start());
afterAll(() => api.stop());
beforeEach(() => api.reset());

const registry = new CommandRegistry(commands);
const base = () => ({ token: TOKEN, applicationId: APP, apiUrl: api.url, registry });

function registryWithHelpDescription(description: string) {
  return new CommandRegistry(
    commands.map((c) =>
      c.path.join(' ') === 'help' ? defineCommand({ ...c, description, options: c.options as z.ZodObject<any> }) : c,
    ),
  );
}

describe('registerDiscordCommands', () => {
  it('PUTs on the first run, then leaves identical commands alone', async () => {
    const lines: string[] = [];
    const first = await registerDiscordCommands({ ...base(), log: (l) => lines.push(l) });
    expect(first).toEqual({ changed: true, scope: 'global' });
    const route = `/api/v10/applications/${APP}/commands`;
    expect(api.calls).toEqual([
      { method: 'GET', path: route },
      { method: 'PUT', path: route },
    ]);
    expect(api.scopes.get('global')!.map((c) => c.name)).toEqual(['qm']);
    expect(lines.at(-1)).toMatch(/updated 1 command/);

    api.calls.length = 0;
    const second = await registerDiscordCommands({ ...base(), log: (l) => lines.push(l) });
    expect(second).toEqual({ changed: false, scope: 'global' });
    expect(api.calls).toEqual([{ method: 'GET', path: route }]);
    expect(lines.at(-1)).toMatch(/up to date/);
  });

  it('PUTs again when a description changed', async () => {
    await registerDiscordCommands(base());
    api.calls.length = 0;
    const changed = registryWithHelpDescription('Show what Quartermaster can do for you');
    const r = await registerDiscordCommands({ ...base(), registry: changed });
    expect(r.changed).toBe(true);
    expect(api.puts()).toHaveLength(1);
    const help = api.scopes.get('global')![0].options.find((o: any) => o.name === 'help');
    expect(help.description).toBe('Show what Quartermaster can do for you');
    // …and is then up to date again.
    expect((await registerDiscordCommands({ ...base(), registry: changed })).changed).toBe(false);
  });

  it('replaces stray commands left by an older version', async () => {
    api.scopes.set('global', [
      { id: '9', application_id: APP, version: '1', type: 1, name: 'old', description: 'Gone', options: [] },
    ]);
    const lines: string[] = [];
    expect((await registerDiscordCommands({ ...base(), log: (l) => lines.push(l) })).changed).toBe(true);
    expect(api.scopes.get('global')!.map((c) => c.name)).toEqual(['qm']);
    expect(lines.at(-1)).toMatch(/removed \/old/);
  });

  it('uses the guild route with guildId', async () => {
    const r = await registerDiscordCommands({ ...base(), guildId: GUILD });
    expect(r).toEqual({ changed: true, scope: 'guild' });
    const route = `/api/v10/applications/${APP}/guilds/${GUILD}/commands`;
    expect(api.calls.map((c) => c.path)).toEqual([route, route]);
    expect(api.scopes.has('global')).toBe(false);
    expect(api.scopes.get(GUILD)![0].guild_id).toBe(GUILD);
    api.calls.length = 0;
    expect((await registerDiscordCommands({ ...base(), guildId: GUILD })).changed).toBe(false);
    expect(api.puts()).toEqual([]);
  });

  it('explains a bad token in plain words naming DISCORD_TOKEN', async () => {
    const err = await registerDiscordCommands({ ...base(), token: 'wrong' }).catch((e) => e);
    expect(err).toBeInstanceOf(DiscordRegisterError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/Discord rejected DISCORD_TOKEN \(401 Unauthorized\)/);
    expect(err.message).toMatch(/Bot → Reset Token/);
    expect(api.puts()).toEqual([]);
  });

  it('explains a 403 naming DISCORD_APPLICATION_ID and the applications.commands scope', async () => {
    const err = await registerDiscordCommands({ ...base(), guildId: '333333333333333333' }).catch((e) => e);
    expect(err).toBeInstanceOf(DiscordRegisterError);
    expect(err.message).toMatch(/DISCORD_APPLICATION_ID/);
    expect(err.message).toMatch(/applications\.commands/);
    const other = await registerDiscordCommands({ ...base(), applicationId: '999999999999999999' }).catch((e) => e);
    expect(other.message).toMatch(/DISCORD_APPLICATION_ID=999999999999999999/);
  });

  it('explains an unreachable API naming DISCORD_API_URL', async () => {
    const err = await registerDiscordCommands({ ...base(), apiUrl: 'http://127.0.0.1:1/api' }).catch((e) => e);
    expect(err).toBeInstanceOf(DiscordRegisterError);
    expect(err.message).toMatch(/Could not reach Discord at http:\/\/127\.0\.0\.1:1\/api \(DISCORD_API_URL\)/);
  });
});

describe('sameCommands', () => {
  const desired = discordCommands(registry);

  it('ignores server-added fields and defaults, but not order or content', () => {
    const remote = JSON.parse(JSON.stringify(desired));
    Object.assign(remote[0], { id: '1', application_id: APP, version: '2', nsfw: false, dm_permission: true });
    remote[0].default_member_permissions = null;
    remote[0].options[0].options = [];
    remote[0].options[2].options[0].required = true; // link email: already required
    remote[0].options[2].options[1].required = false;
    expect(sameCommands(remote, desired)).toBe(true);

    const reordered = JSON.parse(JSON.stringify(desired));
    reordered[0].options.reverse();
    expect(sameCommands(reordered, desired)).toBe(false);

    const noContexts = JSON.parse(JSON.stringify(desired));
    noContexts[0].contexts = null;
    expect(sameCommands(noContexts, desired)).toBe(false);

    expect(sameCommands([], desired)).toBe(false);
    expect(sameCommands({ message: 'nope' }, desired)).toBe(false);
  });
});

describe('runDiscordRegister (CLI)', () => {
  it('says which variables are missing', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      expect(await runDiscordRegister([], {})).toBe(78);
      expect(await runDiscordRegister(['--guild', 'abc'], { DISCORD_TOKEN: TOKEN, DISCORD_APPLICATION_ID: APP })).toBe(
        2,
      );
      expect(await runDiscordRegister([], { DISCORD_TOKEN: TOKEN, DISCORD_APPLICATION_ID: 'my-app' })).toBe(78);
    } finally {
      console.error = orig;
    }
    expect(errors[0]).toMatch(/DISCORD_TOKEN .* and DISCORD_APPLICATION_ID/);
    expect(errors[1]).toMatch(/--guild needs the numeric server id/);
    expect(errors[2]).toMatch(/DISCORD_APPLICATION_ID must be the numeric application id/);
  });

  it('registers with the environment, in a guild with --guild', async () => {
    const logs: string[] = [];
    const orig = console.log;
    console.log = (m: string) => logs.push(m);
    try {
      const env = { DISCORD_TOKEN: TOKEN, DISCORD_APPLICATION_ID: APP, DISCORD_API_URL: api.url };
      expect(await runDiscordRegister(['--guild', GUILD], env)).toBe(0);
      expect(await runDiscordRegister([`--guild=${GUILD}`], env)).toBe(0);
    } finally {
      console.log = orig;
    }
    expect(api.puts(`/api/v10/applications/${APP}/guilds/${GUILD}/commands`)).toHaveLength(1);
    expect(logs).toEqual([expect.stringMatching(/updated 1 command/), expect.stringMatching(/up to date/)]);
  });
});
