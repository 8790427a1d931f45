import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, parsePolicyText } from '../../src/config/policy-file.js';
import {
  BUILT_IN_ORIGIN,
  formatDuration,
  loadPolicyFromObject,
  matchesPrincipals,
  Policy,
  PolicyError,
  parseDuration,
  REQUEST_KINDS,
} from '../../src/core/approvals/policy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const H = 3_600_000;
const D = 24 * H;

/** The problems a policy object is rejected with. */
function problems(obj: unknown): string[] {
  try {
    loadPolicyFromObject(obj, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).problems;
  }
  throw new Error('expected the policy to be rejected');
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'qm-policy-'));
}

describe('built-in defaults (no file)', () => {
  const p = Policy.defaults();

  it('lets every known role request and org admins approve (billing too for limits), once, within 24h', () => {
    for (const kind of REQUEST_KINDS) {
      const e = p.resolve(kind);
      expect(e.requesters.roles).toEqual(['user', 'claude_code_user', 'developer', 'billing', 'admin']);
      // Billing and admins set budgets themselves, so they also decide everyone else's (and re-enable keys).
      const approvers = kind.startsWith('limit.') ? ['admin', 'billing'] : ['admin'];
      expect(e.approvers).toEqual({ roles: approvers, workspaceRoles: [], users: [], groups: [] });
      expect(e.quorum).toBe(1);
      expect(e.expiresAfterMs).toBe(24 * H);
      expect(e.remindBeforeMs).toBe(2 * H);
      expect(e.adminsActDirectly).toBe(false);
      expect(e.channels).toEqual({});
      expect(e.source).toBe('built-in defaults');
    }
  });

  it('bounds key requests and time-boxed roles', () => {
    expect(p.resolve('key.request').maxDurationMs).toBe(90 * D);
    expect(p.resolve('key.request').grantWindowMs).toBe(H);
    expect(p.resolve('member.role').maxDurationMs).toBe(30 * D);
    expect(p.resolve('member.invite').maxDurationMs).toBeNull();
  });

  it('is what an empty object or an empty file gives', () => {
    expect(loadPolicyFromObject({}, 'x').resolve('key.request')).toEqual(p.resolve('key.request'));
    expect(loadPolicyFromObject(null, 'x').resolve('link').quorum).toBe(1);
    expect(parsePolicyText('# nothing yet\n', 'empty.yaml').resolve('member.role').maxDurationMs).toBe(30 * D);
  });

  it('describes itself, saying no file is in use', () => {
    const r = p.describe({ showPeople: true });
    const text = r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');
    for (const kind of REQUEST_KINDS) expect(text).toContain(kind.replace(/_/g, '\\_'));
    expect(text).toContain('QM_POLICY');
    expect(p.origin).toBe(BUILT_IN_ORIGIN);
  });
});

describe('merge order', () => {
  const p = loadPolicyFromObject(
    {
      version: 1,
      defaults: { quorum: 1, expires_after: '12h', channels: { slack: 'C0DEFAULT1' } },
      kinds: {
        'key.request': { quorum: 2, max_duration: '30d', channels: { discord: '140000000000000200' } },
        'member.role': { max_duration: '7d' },
      },
      workspaces: {
        prod: {
          all: { approvers: { workspace_roles: ['workspace_admin'] }, expires_after: '6h' },
          'key.request': { quorum: 3 },
        },
      },
    },
    'merge.yaml',
  );

  it('takes each setting from the most specific layer that sets it', () => {
    const e = p.resolve('key.request', 'prod');
    expect(e.quorum).toBe(3); // workspaces.prod.key.request
    expect(e.approvers.workspaceRoles).toEqual(['workspace_admin']); // workspaces.prod.all
    expect(e.approvers.roles).toEqual([]); // a layer's approvers replace the set below
    expect(e.expiresAfterMs).toBe(6 * H); // workspaces.prod.all
    expect(e.maxDurationMs).toBe(30 * D); // kinds.key.request
    expect(e.grantWindowMs).toBe(H); // built-in
    expect(e.channels).toEqual({ slack: 'C0DEFAULT1', discord: '140000000000000200' }); // merged per platform
    expect(e.source).toBe('workspaces.prod.key.request over workspaces.prod.all over kinds.key.request over defaults');
  });

  it('ignores workspace overrides outside that workspace and for kinds not made in a workspace', () => {
    expect(p.resolve('key.request').quorum).toBe(2);
    expect(p.resolve('key.request', 'staging').quorum).toBe(2);
    expect(p.resolve('key.request', 'staging').source).toBe('kinds.key.request over defaults');
    expect(p.resolve('member.role', 'prod').expiresAfterMs).toBe(12 * H);
    expect(p.resolve('key.rotate', 'prod').source).toBe('workspaces.prod.all over defaults');
  });

  it('matches workspace names case-insensitively when unambiguous', () => {
    expect(p.resolve('key.request', 'Prod').quorum).toBe(3);
  });

  it('lets a file default override a built-in kind default, and a kind override the file default', () => {
    const q = loadPolicyFromObject(
      { defaults: { max_duration: '14d' }, kinds: { 'member.role': { max_duration: 'none' } } },
      'x',
    );
    expect(q.resolve('key.request').maxDurationMs).toBe(14 * D);
    expect(q.resolve('member.role').maxDurationMs).toBeNull();
  });

  it('shows one kind in one workspace with its source', () => {
    const r = p.describeKind('key.request', 'prod', { showPeople: true });
    expect(r.title).toBe('Approval policy: key.request in prod');
    expect(JSON.stringify(r.blocks)).toContain('workspaces.prod.key.request over workspaces.prod.all');
  });
});

describe('validation names the YAML path of each problem', () => {
  it('rejects unknown top-level keys', () => {
    expect(problems({ aprovers: {} })).toEqual([
      'aprovers: unknown top-level key "aprovers"; expected one of version, groups, defaults, kinds, workspaces, spend, leaks',
    ]);
  });

  it('rejects unknown kinds, suggesting the closest', () => {
    expect(problems({ kinds: { 'key.requst': { quorum: 1 } } })).toEqual([
      'kinds.key.requst: unknown request kind "key.requst" (did you mean key.request?)',
    ]);
    expect(problems({ workspaces: { prod: { alll: {} } } })[0]).toContain('workspaces.prod.alll: unknown request kind');
    expect(problems({ workspaces: { prod: { alll: {} } } })[0]).toContain('did you mean all?');
  });

  it('rejects unknown settings inside a rule', () => {
    expect(problems({ defaults: { qourum: 2 } })[0]).toBe(
      'defaults.qourum: unknown key "qourum" (did you mean quorum?)',
    );
  });

  it('rejects unknown org roles and workspace roles', () => {
    expect(problems({ defaults: { approvers: { roles: ['admn'] } } })[0]).toMatch(
      /^defaults\.approvers\.roles\[0\]: unknown org role "admn" \(did you mean admin\?\)/,
    );
    expect(problems({ kinds: { 'key.request': { approvers: { workspace_roles: ['owner'] } } } })[0]).toMatch(
      /^kinds\.key\.request\.approvers\.workspace_roles\[0\]: unknown workspace role "owner"; known workspace roles: workspace_user/,
    );
  });

  it('rejects bad durations, saying the accepted form', () => {
    const [p] = problems({ kinds: { 'key.request': { max_duration: '90 days' } } });
    expect(p).toMatch(/^kinds\.key\.request\.max_duration: "90 days" is not a duration such as 30m, 1h, 24h or 7d/);
    expect(problems({ defaults: { expires_after: 3600 } })[0]).toMatch(/^defaults\.expires_after: must be a duration/);
    expect(problems({ defaults: { expires_after: '0m' } })[0]).toBe('defaults.expires_after: must be longer than zero');
  });

  it('rejects a quorum below 1 or above 10', () => {
    expect(problems({ kinds: { 'member.role': { quorum: 11 } } })).toEqual([
      'kinds.member.role.quorum: must be between 1 and 10',
    ]);
    expect(problems({ defaults: { quorum: 0 } })).toEqual(['defaults.quorum: must be between 1 and 10']);
    expect(problems({ defaults: { quorum: 1.5 } })[0]).toMatch(/^defaults\.quorum: must be a whole number/);
  });

  it('rejects a group that is referenced but not defined', () => {
    expect(
      problems({ groups: { security: ['a@example.com'] }, kinds: { link: { approvers: { groups: ['securty'] } } } }),
    ).toEqual(['kinds.link.approvers.groups[0]: group "securty" is not defined under groups (did you mean security?)']);
  });

  it('rejects group members that are neither emails nor slack:/discord: accounts', () => {
    const found = problems({ groups: { security: ['alice@example.com', 'bob', 'discord:12', 'slack:U0ABC'] } });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^groups\.security\[1\]: "bob" is neither an email address nor a chat account/);
    expect(found[1]).toMatch(/^groups\.security\[2\]: "discord:12" is neither/);
  });

  it('rejects a quorum that only named approvers could reach and there are too few of them', () => {
    expect(
      problems({
        groups: { leads: ['carol@example.com', 'slack:U0CAROL'] },
        kinds: { 'member.role': { quorum: 4, approvers: { users: ['dave@example.com'], groups: ['leads'] } } },
      }),
    ).toEqual([
      'kinds.member.role.quorum: quorum 4 can never be reached for member.role: the approvers name at most 3 people (users and groups) and no roles',
    ]);
  });

  it('points an unreachable quorum at the layer that made it so', () => {
    expect(
      problems({
        defaults: { quorum: 2 },
        workspaces: { prod: { 'key.request': { approvers: { users: ['dave@example.com'] } } } },
      }),
    ).toEqual([
      'workspaces.prod.key.request.approvers: quorum 2 can never be reached for key.request in workspace prod: the approvers name at most 1 person (users and groups) and no roles',
    ]);
  });

  it('accepts a quorum reachable through a role', () => {
    expect(() =>
      loadPolicyFromObject({ kinds: { 'member.role': { quorum: 3, approvers: { roles: ['admin'] } } } }, 'x'),
    ).not.toThrow();
  });

  it('rejects a reminder at or after expiry, and overrides that never apply', () => {
    expect(problems({ kinds: { 'key.disable': { expires_after: '1h' } } })).toEqual([
      'kinds.key.disable.expires_after: remind_before (2h) must be shorter than expires_after (1h) for key.disable',
    ]);
    expect(problems({ workspaces: { prod: { 'member.invite': { quorum: 2 } } } })[0]).toMatch(
      /^workspaces\.prod\.member\.invite: member\.invite requests are not made in a workspace/,
    );
  });

  it('rejects an unquoted Discord channel id that lost its digits', () => {
    expect(problems({ defaults: { channels: { discord: 140000000000000200 } } })[0]).toMatch(
      /^defaults\.channels\.discord: quote the Discord channel id/,
    );
  });

  it('reports every problem at once', () => {
    const found = problems({
      version: 2,
      extra: true,
      defaults: { quorum: 0, approvers: { groups: ['nobody'] } },
      kinds: { 'member.role': { remind_before: 'soon' } },
    });
    expect(found).toHaveLength(5);
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(
      ['defaults.approvers.groups[0]', 'defaults.quorum', 'extra', 'kinds.member.role.remind_before', 'version'].sort(),
    );
  });
});

describe('groups and principals', () => {
  const p = loadPolicyFromObject(
    {
      groups: { security: ['Alice@Example.com', 'slack:U0SEC', 'discord:140000000000000301'] },
      kinds: { 'key.disable': { approvers: { roles: ['admin'], groups: ['security'] } } },
      workspaces: { prod: { all: { approvers: { workspace_roles: ['workspace_admin'] } } } },
    },
    'x',
  );
  const person = (o: Partial<Parameters<typeof matchesPrincipals>[1]>) => ({
    orgRole: 'developer',
    email: 'someone@example.com',
    workspaceRole: null,
    chatAccount: 'slack:U0SOMEONE',
    ...o,
  });

  it('resolves group members, lower-casing emails', () => {
    expect(p.groupMembers('security')).toEqual(['alice@example.com', 'slack:U0SEC', 'discord:140000000000000301']);
    expect(p.groupMembers('missing')).toEqual([]);
  });

  it('counts an org admin as workspace_admin in every workspace', () => {
    const approvers = p.resolve('key.request', 'prod').approvers;
    expect(matchesPrincipals(approvers, person({ orgRole: 'admin' }), p)).toBe(true);
    expect(matchesPrincipals(approvers, person({ orgRole: 'developer', workspaceRole: 'workspace_admin' }), p)).toBe(
      true,
    );
    expect(
      matchesPrincipals(approvers, person({ orgRole: 'developer', workspaceRole: 'workspace_developer' }), p),
    ).toBe(false);
  });

  it('matches a user by email, case-insensitively', () => {
    const q = loadPolicyFromObject({ defaults: { approvers: { users: ['Dave@Example.com'] } } }, 'x');
    const approvers = q.resolve('link').approvers;
    expect(matchesPrincipals(approvers, person({ email: 'dave@example.COM' }), q)).toBe(true);
    expect(matchesPrincipals(approvers, person({ email: 'eve@example.com' }), q)).toBe(false);
  });

  it('matches a chat account or an email in a group', () => {
    const approvers = p.resolve('key.disable').approvers;
    expect(matchesPrincipals(approvers, person({ chatAccount: 'discord:140000000000000301' }), p)).toBe(true);
    expect(matchesPrincipals(approvers, person({ chatAccount: 'slack:U0SEC' }), p)).toBe(true);
    expect(matchesPrincipals(approvers, person({ email: 'alice@example.com' }), p)).toBe(true);
    expect(matchesPrincipals(approvers, person({}), p)).toBe(false);
  });

  it('never matches an org role it does not know', () => {
    const everyone = p.resolve('key.request').requesters;
    expect(matchesPrincipals(everyone, person({ orgRole: 'developer' }), p)).toBe(true);
    expect(matchesPrincipals(everyone, person({ orgRole: 'superuser' }), p)).toBe(false);
    expect(matchesPrincipals(everyone, person({ orgRole: '' }), p)).toBe(false);
  });

  it('treats owners as admins', () => {
    expect(matchesPrincipals(p.resolve('link').approvers, person({ orgRole: 'primary_owner' }), p)).toBe(true);
  });
});

describe('durations', () => {
  it('parses the accepted forms', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('1h')).toBe(H);
    expect(parseDuration('24h')).toBe(D);
    expect(parseDuration('7d')).toBe(7 * D);
    expect(parseDuration('90d')).toBe(90 * D);
    expect(parseDuration('1h30m')).toBe(1.5 * H);
  });

  it('refuses anything else, naming the accepted form', () => {
    for (const bad of ['90 days', '', 'h', '1.5h', '-1d', '1y']) {
      expect(() => parseDuration(bad)).toThrow(/30m, 1h, 24h or 7d/);
    }
  });

  it('formats back to the short form', () => {
    expect(formatDuration(90 * D)).toBe('90d');
    expect(formatDuration(D)).toBe('24h');
    expect(formatDuration(36 * H)).toBe('36h');
    expect(formatDuration(7 * D)).toBe('7d');
    expect(formatDuration(1.5 * H)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0m');
    for (const s of ['30m', '1h', '24h', '7d', '90d', '2d12h', '1h30m'])
      expect(formatDuration(parseDuration(s))).toBe(s);
  });
});

describe('policy files', () => {
  it('loads the example file at the repository root', () => {
    const p = loadPolicyFile('quartermaster.example.yaml', root);
    expect(p.origin).toBe('quartermaster.example.yaml');
    expect(p.resolve('key.request', 'prod').quorum).toBe(2);
    expect(p.resolve('member.role').quorum).toBe(2);
    expect(p.resolve('key.request').channels.discord).toBe('140000000000000200');
    expect(p.groupMembers('security')).toContain('discord:140000000000000301');
  });

  it('uses ./quartermaster.yaml when QM_POLICY is unset, else the built-in defaults', () => {
    const dir = tempDir();
    expect(loadPolicyFile(undefined, dir).origin).toBe(BUILT_IN_ORIGIN);
    writeFileSync(path.join(dir, 'quartermaster.yaml'), 'kinds:\n  link: { quorum: 2 }\n');
    const p = loadPolicyFile(undefined, dir);
    expect(p.origin).toBe('./quartermaster.yaml');
    expect(p.resolve('link').quorum).toBe(2);
  });

  it('requires the file QM_POLICY names to exist', () => {
    const dir = tempDir();
    expect(() => loadPolicyFile('policies/missing.yaml', dir)).toThrow(
      new RegExp(
        `QM_POLICY names ${path.join(dir, 'policies/missing.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, which does not exist`,
      ),
    );
  });

  it('reports a YAML syntax error with its line and column', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nkinds:\n  key.request: { quorum: 2\n  link: {}\n');
    let err: unknown;
    try {
      loadPolicyFile('bad.yaml', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).message).toMatch(/bad\.yaml/);
    expect((err as PolicyError).problems[0]).toMatch(/^YAML syntax error at line [34], column \d+: /);
  });

  it('adds the line of each validation problem, and reads long Discord ids exactly', () => {
    const text = [
      'version: 1',
      'defaults:',
      '  channels: { discord: 140000000000000200 }',
      'kinds:',
      '  member.role:',
      '    quorum: 12',
      '  key.reqest: {}',
    ].join('\n');
    let err: PolicyError | undefined;
    try {
      parsePolicyText(text, 'p.yaml');
    } catch (e) {
      err = e as PolicyError;
    }
    expect(err?.problems).toEqual([
      'kinds.member.role.quorum: must be between 1 and 10 (line 6, column 13)',
      'kinds.key.reqest: unknown request kind "key.reqest" (did you mean key.request?) (line 7, column 15)',
    ]);
    expect(parsePolicyText(text.split('\n').slice(0, 3).join('\n'), 'p.yaml').resolve('link').channels).toEqual({
      discord: '140000000000000200',
    });
  });

  it('rejects duplicate keys', () => {
    expect(() => parsePolicyText('kinds: {}\nkinds: {}\n', 'dup.yaml')).toThrow(
      /line 2, column 1: Map keys must be unique/,
    );
  });
});
