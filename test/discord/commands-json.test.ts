/** The /qm command JSON for Discord, derived from the definitions, and the checker of Discord's limits. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commands } from '../../commands/index.js';
import { CommandRegistry, defineCommand } from '../../src/core/command/define.js';
import { reply } from '../../src/core/command/reply.js';
import { discordCommands, discordManifestText, validateDiscordCommands } from '../../src/discord/commands-json.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const registry = new CommandRegistry(commands);
const [qm] = discordCommands(registry) as any[];

const find = (options: any[] | undefined, name: string) => {
  const o = options?.find((x) => x.name === name);
  if (!o) throw new Error(`no option ${name}`);
  return o;
};

function cmd(path: string[], description: string, options: z.ZodObject<any> = z.object({})) {
  return defineCommand({ path, description, access: 'public', options, handler: async () => reply({ title: 'x' }) });
}

/** A valid command body to break one limit at a time. */
function good(): any {
  return {
    name: 'qm',
    type: 1,
    description: 'Quartermaster',
    options: [
      {
        type: 2,
        name: 'keys',
        description: 'Keys',
        options: [
          {
            type: 1,
            name: 'list',
            description: 'List keys',
            options: [
              { type: 3, name: 'name', description: 'Name', required: true },
              { type: 3, name: 'status', description: 'Status', choices: [{ name: 'active', value: 'active' }] },
            ],
          },
        ],
      },
      { type: 1, name: 'help', description: 'Help' },
    ],
  };
}

describe('discordCommands (the real definitions)', () => {
  it('is one guild-only chat-input command /qm that passes Discord limits', () => {
    const json = discordCommands(registry);
    expect(json).toHaveLength(1);
    expect(qm).toMatchObject({ name: 'qm', type: 1, contexts: [0], integration_types: [0] });
    expect(qm.description.length).toBeGreaterThan(0);
    expect(validateDiscordCommands(json)).toEqual([]);
  });

  it('maps one-word paths to subcommands and two-word paths to groups, in definition order', () => {
    const tops: string[] = [];
    for (const c of registry.commands) if (!tops.includes(c.definition.path[0]!)) tops.push(c.definition.path[0]!);
    expect(qm.options.map((o: any) => o.name)).toEqual(tops);
    for (const c of registry.commands) {
      const [first, second] = c.definition.path;
      const top = find(qm.options, first!);
      if (second) {
        expect(top.type, `${first} is a group`).toBe(2);
        const sub = find(top.options, second);
        expect(sub.type).toBe(1);
        expect(sub.description).toBe(c.definition.description);
        for (const o of top.options) expect(o.type, 'groups hold only subcommands').toBe(1);
      } else {
        expect(top.type, `${first} is a subcommand`).toBe(1);
        expect(top.description).toBe(c.definition.description);
      }
    }
    expect(find(qm.options, 'help').type).toBe(1);
    expect(find(qm.options, 'keys').type).toBe(2);
  });

  it('types options: enum → string with choices, integer with min/max, boolean, user', () => {
    const keysList = find(find(qm.options, 'keys').options, 'list');
    const status = find(keysList.options, 'status');
    expect(status.type).toBe(3);
    expect(status.description).toBe('Only keys with this status');
    expect(status.choices).toEqual(['active', 'inactive', 'archived', 'expired'].map((v) => ({ name: v, value: v })));
    expect(status.required).toBeUndefined();
    expect(find(keysList.options, 'mine').type).toBe(5);
    const workspace = find(keysList.options, 'workspace');
    expect(workspace).toMatchObject({ type: 3, min_length: 1, max_length: 100 });
    expect(workspace.choices).toBeUndefined();

    const limit = find(find(qm.options, 'audit').options, 'limit');
    expect(limit).toMatchObject({ type: 4, min_value: 1, max_value: 50 });
    expect(limit.description).toBe('How many entries per page (1–50, default 20)');

    const link = find(qm.options, 'link');
    expect(find(link.options, 'email')).toMatchObject({ type: 3, required: true });
    expect(find(link.options, 'user').type).toBe(6);
  });

  it('every option and description comes from the OptionSpecs', () => {
    for (const c of registry.commands) {
      const [first, second] = c.definition.path;
      const node = second ? find(find(qm.options, first!).options, second) : find(qm.options, first!);
      expect((node.options ?? []).map((o: any) => o.name).sort()).toEqual(c.options.map((o) => o.name).sort());
      for (const spec of c.options) expect(find(node.options, spec.name).description).toBe(spec.description);
    }
  });
});

describe('discordCommands (built registries)', () => {
  it('lists required options before optional ones, keeping declaration order otherwise', () => {
    const r = new CommandRegistry([
      cmd(
        ['grant'],
        'Grant something',
        z.object({
          note: z.string().optional().describe('A note'),
          who: z.string().describe('Who'),
          verbose: z.boolean().optional().describe('Verbose'),
          amount: z.number().int().min(1).describe('How much'),
        }),
      ),
    ]);
    const json = discordCommands(r) as any[];
    const grant = json[0].options[0];
    expect(grant.options.map((o: any) => [o.name, o.required ?? false])).toEqual([
      ['who', true],
      ['amount', true],
      ['note', false],
      ['verbose', false],
    ]);
    expect(validateDiscordCommands(json)).toEqual([]);
  });

  it('throws naming the command whose description is over 100 characters (nothing is truncated)', () => {
    const long = 'x'.repeat(101);
    expect(() => discordCommands(new CommandRegistry([cmd(['keys', 'revoke'], long)]))).toThrow(
      /command "keys revoke".*101 characters/,
    );
    expect(() => discordCommands(new CommandRegistry([cmd(['help'], 'x'.repeat(100))]))).not.toThrow();
  });

  it('throws naming the option whose description is over 100 characters', () => {
    const r = new CommandRegistry([
      cmd(['audit'], 'Audit', z.object({ limit: z.boolean().describe('y'.repeat(101)) })),
    ]);
    expect(() => discordCommands(r)).toThrow(/option "limit" of command "audit"/);
  });

  it('rejects a three-word path (Discord nests at most group → subcommand)', () => {
    const r = new CommandRegistry([cmd(['keys', 'policy', 'set'], 'Set the policy')]);
    expect(() => discordCommands(r)).toThrow(/"keys policy set".*3 words/);
  });

  it('throws on an option name Discord would refuse (uppercase)', () => {
    const r = new CommandRegistry([cmd(['audit'], 'Audit', z.object({ maxItems: z.boolean().describe('Max') }))]);
    expect(() => discordCommands(r)).toThrow(/maxItems.*lowercase/);
  });
});

describe('manifest/discord-commands.json', () => {
  it('matches the command definitions', () => {
    const committed = readFileSync(path.join(root, 'manifest', 'discord-commands.json'), 'utf8');
    const expected = discordManifestText(registry);
    expect(
      JSON.parse(committed),
      'manifest/discord-commands.json is out of date with the command definitions: run `npm run manifest` and commit it',
    ).toEqual(JSON.parse(expected));
    expect(
      committed === expected,
      'manifest/discord-commands.json is not formatted as generated: run `npm run manifest` and commit it',
    ).toBe(true);
  });
});

describe('validateDiscordCommands', () => {
  const problems = (mutate: (c: any) => void) => {
    const c = good();
    mutate(c);
    return validateDiscordCommands([c]);
  };
  const keysList = (c: any) => c.options[0].options[0];

  it('accepts a valid command', () => {
    expect(validateDiscordCommands([good()])).toEqual([]);
  });

  it('names: 1-32 of letters, digits, - and _, lowercase', () => {
    expect(problems((c) => (c.name = 'Qm'))).toEqual([expect.stringMatching(/must be lowercase/)]);
    expect(problems((c) => (c.options[1].name = 'he lp'))).toEqual([expect.stringMatching(/\/qm he lp: name/)]);
    expect(problems((c) => (c.options[1].name = 'h'.repeat(33)))).toHaveLength(1);
    expect(problems((c) => (c.options[1].name = ''))).toHaveLength(1);
    expect(problems((c) => (c.options[1].name = 'h'.repeat(32)))).toEqual([]);
    expect(problems((c) => (c.options[1].name = 'hilfe-ü_2'))).toEqual([]);
  });

  it('descriptions: 1-100 characters', () => {
    expect(problems((c) => (c.description = ''))).toEqual([expect.stringMatching(/\/qm: description/)]);
    expect(problems((c) => (keysList(c).options[0].description = 'd'.repeat(101)))).toEqual([
      expect.stringMatching(/\/qm keys list name: description must be 1-100 characters \(it is 101\)/),
    ]);
    expect(problems((c) => (keysList(c).options[0].description = 'd'.repeat(100)))).toEqual([]);
  });

  it('at most 25 options, subcommands or groups per level', () => {
    const sub = (i: number) => ({ type: 1, name: `s${i}`, description: 'd' });
    const opt = (i: number) => ({ type: 5, name: `o${i}`, description: 'd' });
    expect(problems((c) => (c.options = Array.from({ length: 26 }, (_, i) => sub(i))))).toEqual([
      expect.stringMatching(/\/qm: has 26 .*25/),
    ]);
    expect(problems((c) => (c.options[0].options = Array.from({ length: 26 }, (_, i) => sub(i))))).toEqual([
      expect.stringMatching(/\/qm keys: has 26/),
    ]);
    expect(problems((c) => (keysList(c).options = Array.from({ length: 26 }, (_, i) => opt(i))))).toEqual([
      expect.stringMatching(/\/qm keys list: has 26/),
    ]);
    expect(problems((c) => (keysList(c).options = Array.from({ length: 25 }, (_, i) => opt(i))))).toEqual([]);
  });

  it('at most 25 choices, each named with 1-100 characters', () => {
    const status = (c: any) => keysList(c).options[1];
    const choices = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, value: `c${i}` }));
    expect(problems((c) => (status(c).choices = choices(26)))).toEqual([expect.stringMatching(/26 choices/)]);
    expect(problems((c) => (status(c).choices = choices(25)))).toEqual([]);
    expect(problems((c) => (status(c).choices = [{ name: '', value: 'x' }]))).toEqual([
      expect.stringMatching(/choice name "" must be 1-100/),
    ]);
    expect(problems((c) => (status(c).choices = [{ name: 'n'.repeat(101), value: 'x' }]))).toHaveLength(1);
    expect(problems((c) => (status(c).choices = [{ name: 'x', value: 'v'.repeat(101) }]))).toEqual([
      expect.stringMatching(/choice value/),
    ]);
  });

  it('at most 8000 characters of names, descriptions and choices across the whole command', () => {
    // 20 subcommands × 4 options with 100-character descriptions ≈ 10,000 characters, every single limit respected.
    const big = (c: any) => {
      c.options = Array.from({ length: 20 }, (_, i) => ({
        type: 1,
        name: `sub${i}`,
        description: 'd'.repeat(100),
        options: Array.from({ length: 4 }, (_, j) => ({ type: 3, name: `opt${j}`, description: 'e'.repeat(100) })),
      }));
    };
    expect(problems(big)).toEqual([expect.stringMatching(/total \d+ characters, Discord allows 8000/)]);
    // Choices count too.
    const choices = (c: any) => {
      c.options = Array.from({ length: 4 }, (_, i) => ({
        type: 1,
        name: `sub${i}`,
        description: 'd',
        options: Array.from({ length: 2 }, (_, j) => ({
          type: 3,
          name: `opt${j}`,
          description: 'e',
          choices: Array.from({ length: 25 }, (_, k) => ({
            name: `${k}${'n'.repeat(20)}`,
            value: `${k}${'v'.repeat(20)}`,
          })),
        })),
      }));
    };
    expect(problems(choices)).toEqual([expect.stringMatching(/total 8\d{3} characters/)]);
  });

  it('required options before optional ones', () => {
    expect(problems((c) => keysList(c).options.reverse())).toEqual([
      expect.stringMatching(/\/qm keys list name: required option listed after an optional one/),
    ]);
  });

  it('nesting at most group → subcommand, no mixing of subcommands and plain options', () => {
    expect(problems((c) => (keysList(c).options = [{ type: 1, name: 'deeper', description: 'd' }]))).toEqual([
      expect.stringMatching(/\/qm keys list deeper: a subcommand cannot contain a subcommand/),
    ]);
    expect(
      problems((c) => (c.options[0].options = [{ type: 2, name: 'inner', description: 'd', options: [] }])),
    ).toEqual([expect.stringMatching(/\/qm keys inner: a subcommand group can only sit directly under the command/)]);
    expect(problems((c) => c.options[0].options.push({ type: 5, name: 'flag', description: 'd' }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/a subcommand group may only contain subcommands/)]),
    );
    expect(problems((c) => c.options.push({ type: 5, name: 'flag', description: 'd' }))).toEqual([
      expect.stringMatching(/\/qm: mixes subcommands\/groups with plain options/),
    ]);
  });

  it('names unique per level', () => {
    expect(problems((c) => c.options.push({ type: 1, name: 'help', description: 'Again' }))).toEqual([
      expect.stringMatching(/\/qm help: the name is used twice/),
    ]);
  });
});
