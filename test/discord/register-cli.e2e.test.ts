/** `npx quartermaster discord register [--guild ID]` against a Discord REST fake: writes only when different. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeDiscord } from '../fakes/discord.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let d: FakeDiscord;

beforeAll(async () => {
  d = await new FakeDiscord().start();
});
afterAll(async () => {
  await d?.stop();
});

const cli = (...args: string[]) =>
  run('node', ['bin/quartermaster.mjs', 'discord', 'register', ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      DISCORD_TOKEN: d.token,
      DISCORD_APPLICATION_ID: d.appId,
      DISCORD_API_URL: d.restApi,
    },
  });

it('registers /qm in a guild once, then finds it up to date', async () => {
  await cli('--guild', d.guildId);
  const puts = () =>
    d.calls.filter((c) => c.method === 'PUT' && c.path === `/applications/${d.appId}/guilds/${d.guildId}/commands`);
  expect(puts()).toHaveLength(1);
  const registered = d.commands.get(d.guildId)!;
  expect(registered.map((c) => c.name)).toEqual(['qm']);
  const groups = registered[0].options.map((o: any) => o.name);
  expect(groups).toEqual(expect.arrayContaining(['help', 'whoami', 'link', 'keys', 'members', 'audit']));
  await cli('--guild', d.guildId);
  expect(puts()).toHaveLength(1);
}, 60_000);
