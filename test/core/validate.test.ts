/** The validate stage: raw strings (Slack) and typed values (Discord) coerced by kind, with messages naming the option. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commands } from '../../commands/index.js';
import { CommandRegistry, defineCommand, type RegisteredCommand } from '../../src/core/command/define.js';
import { userOption } from '../../src/core/command/options.js';
import { reply } from '../../src/core/command/reply.js';
import { validateOptions } from '../../src/core/command/validate.js';

const registry = new CommandRegistry(commands);

function get(name: string): RegisteredCommand {
  const c = registry.get(name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
}

/** A command with required options and a user reference, which no shipped command has yet. */
const grant = new CommandRegistry([
  defineCommand({
    path: ['grant'],
    description: 'Test command',
    access: 'public',
    options: z.object({
      user: userOption('Who gets the grant'),
      days: z.number().int().min(1).max(30).describe('For how many days'),
      approver: userOption('Who approved it').optional(),
    }),
    handler: async () => reply({ text: 'ok' }),
  }),
]).get('grant')!;

describe('integers', () => {
  const audit = get('audit');

  it('parses whole numbers from text, and accepts typed integers', () => {
    expect(validateOptions(audit, { limit: '7' })).toEqual({ ok: true, options: { limit: 7 } });
    expect(validateOptions(audit, { limit: ' 12 ' })).toEqual({ ok: true, options: { limit: 12 } });
    expect(validateOptions(audit, { limit: 50 })).toEqual({ ok: true, options: { limit: 50 } });
  });

  it('says the range, naming the option and what was typed', () => {
    expect(validateOptions(audit, { limit: '0' })).toEqual({
      ok: false,
      message: '`limit` must be at least 1 (you typed 0).',
    });
    expect(validateOptions(audit, { limit: '51' })).toEqual({
      ok: false,
      message: '`limit` must be at most 50 (you typed 51).',
    });
    expect(validateOptions(audit, { limit: -3 })).toEqual({
      ok: false,
      message: '`limit` must be at least 1 (you typed -3).',
    });
  });

  it('refuses text and fractions', () => {
    expect(validateOptions(audit, { limit: 'abc' })).toEqual({
      ok: false,
      message: '`limit` must be a whole number (you typed `abc`).',
    });
    expect(validateOptions(audit, { limit: '2.5' })).toMatchObject({ ok: false, message: /must be a whole number/ });
    expect(validateOptions(audit, { limit: 2.5 })).toMatchObject({ ok: false, message: /must be a whole number/ });
    expect(validateOptions(audit, { limit: '' })).toMatchObject({ ok: false, message: /must be a whole number/ });
  });
});

describe('enums', () => {
  const keys = get('keys list');

  it('match case-insensitively and deliver the declared spelling', () => {
    expect(validateOptions(keys, { status: 'ACTIVE' })).toEqual({ ok: true, options: { status: 'active' } });
    expect(validateOptions(get('members list'), { role: 'Developer' })).toEqual({
      ok: true,
      options: { role: 'developer' },
    });
  });

  it('list every choice when the value is not one', () => {
    expect(validateOptions(keys, { status: 'gone' })).toEqual({
      ok: false,
      message: '`status` must be one of `active`, `inactive`, `archived`, `expired` (you typed `gone`).',
    });
  });
});

describe('booleans', () => {
  const keys = get('keys list');

  it.each([
    ['true', true],
    ['yes', true],
    ['on', true],
    ['1', true],
    ['YES', true],
    ['false', false],
    ['no', false],
    ['off', false],
    ['0', false],
    [true, true],
    [false, false],
  ])('%s → %s', (raw, value) => {
    expect(validateOptions(keys, { mine: raw })).toEqual({ ok: true, options: { mine: value } });
  });

  it('refuse other words', () => {
    expect(validateOptions(keys, { mine: 'maybe' })).toEqual({
      ok: false,
      message: '`mine` must be true or false (you typed `maybe`).',
    });
  });
});

describe('strings', () => {
  it('enforce the maximum length with a readable message', () => {
    expect(validateOptions(get('keys list'), { workspace: 'x'.repeat(101) })).toEqual({
      ok: false,
      message: '`workspace` must be at most 100 characters.',
    });
    expect(validateOptions(get('keys list'), { workspace: 'x'.repeat(100) }).ok).toBe(true);
  });

  it('report the schema rule for other failures, naming the option', () => {
    const r = validateOptions(get('keys list'), { workspace: '' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.startsWith('`workspace`: ')).toBe(true);
  });
});

describe('user references', () => {
  it('take the id out of Slack mentions', () => {
    expect(validateOptions(grant, { user: '<@U123|bob>', days: '3' })).toEqual({
      ok: true,
      options: { user: 'U123', days: 3 },
    });
    expect(validateOptions(grant, { user: '<@U0ABC>', days: 3 })).toMatchObject({
      ok: true,
      options: { user: 'U0ABC' },
    });
    expect(validateOptions(grant, { user: '<@!123456789012345678>', days: 3 })).toMatchObject({
      ok: true,
      options: { user: '123456789012345678' },
    });
  });

  it('accept bare Slack ids and Discord snowflakes', () => {
    expect(validateOptions(grant, { user: 'W0ABC', days: 3 })).toMatchObject({ ok: true, options: { user: 'W0ABC' } });
    expect(validateOptions(grant, { user: '123456789012345678', days: 3 })).toMatchObject({
      ok: true,
      options: { user: '123456789012345678' },
    });
  });

  it('refuse a plain name', () => {
    expect(validateOptions(grant, { user: 'bob', days: 3 })).toEqual({
      ok: false,
      message: '`user` must mention a user, like @alice (you typed `bob`).',
    });
  });

  it('work when optional', () => {
    expect(grant.options.find((o) => o.name === 'approver')).toMatchObject({ kind: 'user', required: false });
    expect(validateOptions(grant, { user: 'U1AB', days: 1, approver: '<@U2CD|carol>' })).toEqual({
      ok: true,
      options: { user: 'U1AB', days: 1, approver: 'U2CD' },
    });
  });
});

describe('required and unknown options', () => {
  it('say which required option is missing and what it is for', () => {
    expect(validateOptions(grant, {})).toEqual({ ok: false, message: '`user` is required: Who gets the grant' });
    expect(validateOptions(grant, { user: 'U123' })).toEqual({
      ok: false,
      message: '`days` is required: For how many days',
    });
  });

  it('refuse an option the command does not have', () => {
    expect(validateOptions(get('audit'), { colour: 'red' })).toEqual({
      ok: false,
      message: '`colour` is not an option of `audit`.',
    });
  });

  it('pass no options through as none', () => {
    expect(validateOptions(get('audit'), {})).toEqual({ ok: true, options: {} });
  });
});
