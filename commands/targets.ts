/**
 * What the request commands (members invite, workspaces add-member/remove-member/create/archive, keys
 * disable/enable/archive/rename) need to name their targets: the core's resolvers, plus "did you mean"
 * suggestions on a miss and the refusals the Admin API would give, said up front and in plain words.
 */
import {
  noSuchKey,
  resolveKey,
  resolveMember,
  resolveWorkspace,
  seeKeysList,
  visibleKeys,
} from '../src/core/approvals/targets.js';
import type { InvocationInfo } from '../src/core/command/define.js';
import { md } from '../src/core/command/reply.js';
import { DomainError } from '../src/core/errors.js';
import type { Caller } from '../src/core/identity/caller.js';
import { WORKSPACE_ROLES } from '../src/core/identity/permissions.js';
import { seesAllMembers } from '../src/core/identity/visibility.js';
import type { ApiKey, OrgUser, Workspace } from '../src/core/ports/admin-api.js';
import type { Services } from '../src/core/services.js';
import { closest, MAX_SUGGEST_INPUT, type SuggestStats } from '../src/core/suggest.js';

/** The workspace roles, as option choices (one list: src/core/identity/permissions.ts). */
export const WORKSPACE_ROLE_CHOICES = WORKSPACE_ROLES;
export type WorkspaceRoleChoice = (typeof WORKSPACE_ROLE_CHOICES)[number];

export const ORG_ADMIN_ROLES = new Set(['admin', 'owner', 'primary_owner']);

/**
 * Up to three candidates near `word`: a plausible typo first, then names that contain it (or it them).
 * Input too long to be a typo of anything gets none (the work stays bounded whatever was typed).
 */
export function suggestions(word: string, candidates: readonly string[], max = 3, stats?: SuggestStats): string[] {
  const w = word.trim().toLowerCase();
  if (w.length > MAX_SUGGEST_INPUT) return [];
  const out: string[] = [];
  const near = closest(w, candidates, { stats });
  if (near) out.push(near);
  for (const c of candidates) {
    if (out.length >= max) break;
    const lc = c.toLowerCase();
    if (w.length >= 3 && !out.includes(c) && (lc.includes(w) || w.includes(lc))) out.push(c);
  }
  return out;
}

const didYouMean = (names: string[]) =>
  names.length ? ` Did you mean ${names.map((n) => md.code(n)).join(' or ')}?` : '';

/**
 * An org member by email or chat mention; an unknown email gets the nearest members' emails as suggestions,
 * for callers who may list members (the others may name only themselves).
 */
export async function findMember(s: Services, who: string, caller: Caller, where: InvocationInfo): Promise<OrgUser> {
  try {
    return await resolveMember(s, who, caller, where);
  } catch (e) {
    if (!(e instanceof DomainError) || e.code !== 'NOT_FOUND' || !who.includes('@') || !seesAllMembers(caller)) throw e;
    const emails = (await s.directory.read()).listUsers().map((u) => u.email);
    const local = who.trim().toLowerCase().split('@')[0]!;
    const byLocal =
      local.length < 3 || who.length > MAX_SUGGEST_INPUT
        ? []
        : emails.filter((x) => {
            const l = x.toLowerCase().split('@')[0]!;
            return l.includes(local) || local.includes(l);
          });
    const names = [...new Set([...suggestions(who, emails), ...byLocal])].slice(0, 3);
    throw new DomainError(
      'NOT_FOUND',
      `No org member has the email ${md.code(who)}.${didYouMean(names)} See ${md.code('/qm members list')}.`,
    );
  }
}

const isDefaultName = (name: string) => name.trim().toLowerCase() === 'default';

/**
 * An active workspace by name or id. The Default workspace is refused with `defaultRefusal` (the Admin API
 * cannot archive it or manage its members); an unknown name lists the nearest names.
 */
export async function findWorkspace(s: Services, name: string, defaultRefusal: string): Promise<Workspace> {
  if (isDefaultName(name)) throw new DomainError('INVALID_INPUT', defaultRefusal);
  try {
    return await resolveWorkspace(s, name);
  } catch (e) {
    if (!(e instanceof DomainError) || e.code !== 'NOT_FOUND') throw e;
    const active = (await s.directory.read())
      .listWorkspaces()
      .filter((w) => !w.archivedAt)
      .map((w) => w.name);
    const near = suggestions(name, active);
    throw new DomainError(
      'NOT_FOUND',
      `There is no workspace called ${md.code(name)}.${didYouMean(near)} Workspaces: ${active.map((n) => md.code(n)).join(', ') || 'none'}.`,
    );
  }
}

/** A key the caller may see, by id or exact name; an unknown one gets the nearest names they may see. */
export async function findKey(s: Services, ref: string, caller: Caller): Promise<ApiKey> {
  const keys = await visibleKeys(s, caller);
  try {
    return await resolveKey(s, ref, caller, keys);
  } catch (e) {
    if (!(e instanceof DomainError) || e.code !== 'NOT_FOUND') throw e;
    const names = [...new Set(keys.map((k) => k.name))];
    throw new DomainError(
      'NOT_FOUND',
      `${noSuchKey(caller, ref)}${didYouMean(suggestions(ref, names))}${seeKeysList(caller)}`,
    );
  }
}

/** The workspace a key belongs to, for the policy (null: the Default workspace, or an org-scoped key). */
export async function workspaceOfKey(s: Services, key: ApiKey): Promise<Workspace | null> {
  if (!key.workspaceId) return null;
  return (await s.directory.read()).workspace(key.workspaceId);
}

export function keyPlace(key: ApiKey, ws: Workspace | null): string {
  return ws ? `workspace ${ws.name}` : key.workspaceId ? `workspace ${key.workspaceId}` : 'the Default workspace';
}

/**
 * Refuses a workspace role the Admin API will not set for this member: `workspace_billing` is never
 * assignable; org admins hold `workspace_admin` everywhere and org billing members `workspace_billing`,
 * and the only change allowed for them is a billing member's upgrade to `workspace_admin`.
 */
export function checkWorkspaceRole(member: { email: string; role: string } | null, role: string, where: string): void {
  if (role === 'workspace_billing') {
    throw new DomainError(
      'INVALID_INPUT',
      `${md.code('workspace_billing')} cannot be given: it is inherited from the org ${md.code('billing')} role, in every workspace. Choose ${md.code('workspace_user')}, ${md.code('workspace_restricted_developer')}, ${md.code('workspace_developer')} or ${md.code('workspace_admin')}.`,
    );
  }
  if (!member) return;
  if (ORG_ADMIN_ROLES.has(member.role)) {
    throw new DomainError(
      'INVALID_INPUT',
      `${md.escape(member.email)} is an org admin: they are ${md.code('workspace_admin')} in every workspace, and the Admin API cannot change that in ${md.escape(where)}.`,
    );
  }
  if (member.role === 'billing' && role !== 'workspace_admin') {
    throw new DomainError(
      'INVALID_INPUT',
      `${md.escape(member.email)} has the org ${md.code('billing')} role, so they are ${md.code('workspace_billing')} in every workspace; the only change the Admin API allows in ${md.escape(where)} is an upgrade to ${md.code('workspace_admin')}.`,
    );
  }
}
