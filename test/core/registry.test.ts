/**
 * Every command definition must be expressible on both platforms. Discord is the stricter one
 * (application commands): names 1–32 of [-_a-z0-9], descriptions 1–100 characters, at most 25 options,
 * 25 choices, 25 subcommands per group; a name cannot be both a subcommand and a group.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commands } from '../../commands/index.js';
import {
  type CommandDefinition,
  CommandRegistry,
  defineCommand,
  needsLiveRole,
} from '../../src/core/command/define.js';
import { describeOptions } from '../../src/core/command/options.js';
import { reply } from '../../src/core/command/reply.js';

const NAME = /^[-_a-z0-9]{1,32}$/;
const registry = new CommandRegistry(commands);

function cmd(path: string[], options: z.ZodObject<any> = z.object({})): CommandDefinition<any> {
  return defineCommand({ path, description: 'Test', access: 'public', options, handler: async () => reply({}) });
}

describe('the shipped commands', () => {
  it('read the caller’s role live for everything but public commands and read-only lists (the audit log is live)', () => {
    const cached = registry.commands.filter((c) => !needsLiveRole(c.definition)).map((c) => c.name);
    expect(cached.sort()).toEqual(
      [
        'help',
        'whoami',
        'link',
        'keys list',
        'members list',
        'workspaces list',
        'requests list',
        'policy show',
        'digest preview',
        'usage',
        'limits rate',
        'limits show',
      ].sort(),
    );
    expect(needsLiveRole(registry.get('audit')!.definition)).toBe(true);
  });

  it('are all registered', () => {
    expect(registry.commands.length).toBe(commands.length);
    expect(registry.commands.map((c) => c.name)).toContain('help');
  });

  describe.each(registry.commands.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    it('has a description of 1–100 characters', () => {
      expect(c.definition.description.trim().length).toBeGreaterThan(0);
      expect(c.definition.description.length).toBeLessThanOrEqual(100);
    });

    it('has path segments Discord accepts (at most 3 deep)', () => {
      expect(c.definition.path.length).toBeGreaterThanOrEqual(1);
      expect(c.definition.path.length).toBeLessThanOrEqual(3);
      for (const segment of c.definition.path) expect(segment).toMatch(NAME);
    });

    it('has at most 25 options, each named for Discord and described in 1–100 characters', () => {
      expect(c.options.length).toBeLessThanOrEqual(25);
      for (const o of c.options) {
        expect(o.name).toMatch(NAME);
        expect(o.description.trim().length, `${c.name} ${o.name}`).toBeGreaterThan(0);
        expect(o.description.length, `${c.name} ${o.name}`).toBeLessThanOrEqual(100);
        if (o.choices) {
          expect(o.choices.length).toBeGreaterThan(0);
          expect(o.choices.length).toBeLessThanOrEqual(25);
        }
      }
    });

    it('lists its required options first (Discord requires it)', () => {
      const firstOptional = c.options.findIndex((o) => !o.required);
      if (firstOptional >= 0) expect(c.options.slice(firstOptional).every((o) => !o.required)).toBe(true);
    });

    it('has positional options that exist', () => {
      for (const p of c.definition.positional ?? []) expect(c.options.map((o) => o.name)).toContain(p);
    });
  });

  it('has at most 25 subcommands per level', () => {
    expect(registry.childrenOf([]).length).toBeLessThanOrEqual(25);
    for (const top of registry.childrenOf([])) expect(registry.childrenOf([top]).length).toBeLessThanOrEqual(25);
  });
});

describe('CommandRegistry', () => {
  it('rejects a command defined twice', () => {
    expect(() => new CommandRegistry([cmd(['keys', 'list']), cmd(['keys', 'list'])])).toThrow(
      'Command "keys list" is defined twice',
    );
  });

  it('rejects a path that is both a command and a group, in either order', () => {
    expect(() => new CommandRegistry([cmd(['keys']), cmd(['keys', 'list'])])).toThrow(
      '"keys" is both a command and a group',
    );
    expect(() => new CommandRegistry([cmd(['keys', 'list']), cmd(['keys'])])).toThrow(
      '"keys" is both a command and a group',
    );
    expect(() => new CommandRegistry([cmd(['a', 'b', 'c']), cmd(['a', 'b'])])).toThrow(
      '"a b" is both a command and a group',
    );
  });

  it('rejects invalid and too deep paths', () => {
    expect(() => new CommandRegistry([cmd(['Keys'])])).toThrow('is not valid');
    expect(() => new CommandRegistry([cmd([])])).toThrow('is not valid');
    expect(() => new CommandRegistry([cmd(['a', 'b', 'c', 'd'])])).toThrow('is not valid');
  });

  it('rejects a positional that is not an option', () => {
    const def = { ...cmd(['x'], z.object({ a: z.string().describe('A') })), positional: ['b'] } as any;
    expect(() => new CommandRegistry([def])).toThrow('Positional "b" of "x" is not an option');
  });

  it('lists the children of a group', () => {
    const r = new CommandRegistry([cmd(['keys', 'list']), cmd(['keys', 'rotate']), cmd(['help'])]);
    expect(r.childrenOf([]).sort()).toEqual(['help', 'keys']);
    expect(r.childrenOf(['keys']).sort()).toEqual(['list', 'rotate']);
    expect(r.childrenOf(['help'])).toEqual([]);
  });
});

describe('describeOptions', () => {
  it('throws on an option without .describe()', () => {
    expect(() => describeOptions('keys list', z.object({ workspace: z.string() }))).toThrow(
      'Option "workspace" of command "keys list" has no .describe() text',
    );
    expect(() => describeOptions('keys list', z.object({ workspace: z.string().optional() }))).toThrow(
      'has no .describe() text',
    );
  });

  it('throws on an unsupported zod type', () => {
    expect(() => describeOptions('x', z.object({ tags: z.array(z.string()).describe('Tags') }))).toThrow(
      'Option "tags" of "x" has unsupported type array',
    );
    expect(() => describeOptions('x', z.object({ when: z.date().describe('When') }))).toThrow('unsupported type');
  });

  it('throws on a non-integer number', () => {
    expect(() => describeOptions('x', z.object({ n: z.number().describe('N') }))).toThrow(
      'only integer numbers are supported',
    );
  });

  it('finds the description on either side of .optional() / .default()', () => {
    const specs = describeOptions(
      'x',
      z.object({
        a: z.string().optional().describe('outer'),
        b: z.string().describe('inner').optional(),
        c: z.number().int().min(1).max(9).describe('inner int').default(3),
      }),
    );
    expect(specs).toEqual([
      { name: 'a', kind: 'string', description: 'outer', required: false },
      { name: 'b', kind: 'string', description: 'inner', required: false },
      { name: 'c', kind: 'integer', description: 'inner int', required: false, defaultValue: 3, min: 1, max: 9 },
    ]);
  });

  it('reads kinds, choices and limits', () => {
    const specs = describeOptions(
      'x',
      z.object({
        s: z.string().min(2).max(10).describe('S'),
        e: z.enum(['a', 'b']).describe('E'),
        f: z.boolean().describe('F'),
      }),
    );
    expect(specs).toEqual([
      { name: 's', kind: 'string', description: 'S', required: true, minLength: 2, maxLength: 10 },
      { name: 'e', kind: 'enum', description: 'E', required: true, choices: ['a', 'b'] },
      { name: 'f', kind: 'boolean', description: 'F', required: true },
    ]);
  });
});
