/** The Slack text form of commands, parsed against the real registry: what users type and what they are told. */
import { describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { CommandRegistry } from '../../src/core/command/define.js';
import { type ParsedText, parseCommandText, tokenize } from '../../src/core/command/text.js';

const registry = new CommandRegistry(commands);

function ok(text: string) {
  const parsed = parseCommandText(text, registry);
  if (!parsed.ok) throw new Error(`expected "${text}" to parse, got: ${parsed.message}`);
  return { name: parsed.command.name, raw: parsed.raw };
}

function fails(text: string): Extract<ParsedText, { ok: false }> {
  const parsed = parseCommandText(text, registry);
  if (parsed.ok) throw new Error(`expected "${text}" to be refused, got ${parsed.command.name}`);
  return parsed;
}

describe('tokenize', () => {
  it('splits on any whitespace', () => {
    expect(tokenize('  keys \t list\nmine ')).toEqual(['keys', 'list', 'mine']);
  });

  it('keeps double- and single-quoted values together, also after name:', () => {
    expect(tokenize(`members invite email:"a b@c.com" note:'two words' "x y"`)).toEqual([
      'members',
      'invite',
      'email:a b@c.com',
      'note:two words',
      'x y',
    ]);
  });

  it('understands the smart quotes Slack substitutes', () => {
    expect(tokenize('keys list workspace:“my prod” ‘a b’ „c d”')).toEqual([
      'keys',
      'list',
      'workspace:my prod',
      'a b',
      'c d',
    ]);
  });

  it('keeps an explicitly empty quoted value', () => {
    expect(tokenize('a "" b')).toEqual(['a', '', 'b']);
  });
});

describe('parseCommandText: commands that run', () => {
  it('reads name:value options', () => {
    expect(ok('keys list workspace:prod status:active')).toEqual({
      name: 'keys list',
      raw: { workspace: 'prod', status: 'active' },
    });
  });

  it('fills positional options in order and takes boolean flags by name', () => {
    expect(ok('keys list prod active mine')).toEqual({
      name: 'keys list',
      raw: { workspace: 'prod', status: 'active', mine: true },
    });
  });

  it('skips a positional option already given by name', () => {
    expect(ok('keys list status:active prod')).toEqual({
      name: 'keys list',
      raw: { status: 'active', workspace: 'prod' },
    });
  });

  it('accepts quoted values, including Slack smart quotes', () => {
    expect(ok('keys list workspace:“my prod” status:active').raw).toEqual({ workspace: 'my prod', status: 'active' });
    expect(ok('keys list workspace:"my prod"').raw).toEqual({ workspace: 'my prod' });
    expect(ok('keys list "my prod"').raw).toEqual({ workspace: 'my prod' });
  });

  it('accepts name=value and --name=value', () => {
    expect(ok('keys list workspace=prod --status=active').raw).toEqual({ workspace: 'prod', status: 'active' });
  });

  it('ignores the case of command words and option names', () => {
    expect(ok('KEYS List Workspace:Prod')).toEqual({ name: 'keys list', raw: { workspace: 'Prod' } });
  });

  it('does not take a URL for an unknown option', () => {
    expect(ok('keys list https://example.com').raw).toEqual({ workspace: 'https://example.com' });
  });

  it('runs help for empty text', () => {
    expect(ok('')).toEqual({ name: 'help', raw: {} });
    expect(ok('   ')).toEqual({ name: 'help', raw: {} });
  });
});

describe('parseCommandText: what users are told when it is wrong', () => {
  it('suggests the top-level command for a typo (swapped letters)', () => {
    const r = fails('kyes list');
    expect(r.attempted).toBe('/qm kyes');
    expect(r.message).toBe('There is no `/qm kyes`. Did you mean `/qm keys`? Try `/qm help` to see what you can do.');
  });

  it('suggests for a one-letter slip and points to help when nothing is close', () => {
    expect(fails('audt').message).toContain('Did you mean `/qm audit`?');
    const far = fails('frobnicate');
    expect(far.message).toBe('There is no `/qm frobnicate`. Try `/qm help` to see what you can do.');
    expect(far.message).not.toContain('Did you mean');
  });

  it('suggests the subcommand and lists the group', () => {
    const r = fails('keys lst');
    expect(r.attempted).toBe('/qm keys lst');
    const subs = registry
      .childrenOf(['keys'])
      .map((c) => `\`${c}\``)
      .join(', ');
    expect(subs).toContain('`list`');
    expect(r.message).toBe(
      `There is no \`/qm keys lst\`. Did you mean \`/qm keys list\`? Subcommands of \`keys\`: ${subs}.`,
    );
  });

  it('asks for a subcommand when only the group is given', () => {
    const subs = registry
      .childrenOf(['keys'])
      .map((c) => `\`${c}\``)
      .join(', ');
    expect(subs.split(', ').length).toBeGreaterThan(1);
    expect(fails('keys').message).toBe(`\`/qm keys\` needs a subcommand: ${subs}.`);
    expect(fails('keys workspace:prod').message).toBe(`\`/qm keys\` needs a subcommand: ${subs}.`);
  });

  it('names an unknown option and lists the real ones', () => {
    const r = fails('keys list colour:red');
    expect(r.attempted).toBe('/qm keys list');
    expect(r.message).toBe(
      '`colour` is not an option of `/qm keys list`. Options: `workspace:…`, `status:…`, `mine`, `page:…`.',
    );
  });

  it('refuses an option given twice', () => {
    expect(fails('keys list status:active status:inactive').message).toBe('`status` is given twice.');
    expect(fails('keys list status:active STATUS:inactive').message).toBe('`status` is given twice.');
  });

  it('refuses more positional values than the command takes', () => {
    expect(fails('keys list prod active extra').message).toBe(
      'Unexpected `extra`. Options: `workspace:…`, `status:…`, `mine`, `page:…`.',
    );
  });

  it('says that a command takes no options', () => {
    expect(fails('whoami please').message).toBe('Unexpected `please`. `whoami` takes no options.');
  });

  it('uses the given prefix in messages', () => {
    const r = parseCommandText('kyes', registry, '/ops');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('Did you mean `/ops keys`?');
  });
});
