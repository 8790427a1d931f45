/**
 * What `/qm limits set|show|clear` share: the scope and target options, resolving a target to what a budget names
 * (only what the caller may see: src/core/identity/visibility.ts canSeeBudget), and who sets budgets directly.
 */
import { z } from 'zod';
import type { InvocationInfo } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import type { Caller } from '../../src/core/identity/caller.js';
import { canSeeBudget, canSeeWorkspaceSpend, seesAllKeys } from '../../src/core/identity/visibility.js';
import { BUDGET_SCOPES, budgetTarget } from '../../src/core/limits/budgets.js';
import type { ApiKey, Workspace } from '../../src/core/ports/admin-api.js';
import type { Budget, BudgetScope } from '../../src/core/ports/limits.js';
import type { Services } from '../../src/core/services.js';
import { findKey, findWorkspace } from '../targets.js';

export const scopeOption = () => z.enum(BUDGET_SCOPES).describe('org (the whole organization), workspace or key');
export const targetOption = () =>
  z.string().min(1).max(500).optional().describe('The workspace or key: its name or id (none for org)');

/** Text form: `limits set org 5000`: an org budget has no target, so the next word is the amount. */
export function skipTargetForOrg(name: string, given: Readonly<Record<string, string | boolean>>): boolean {
  return (
    name === 'target' &&
    String(given.scope ?? '')
      .trim()
      .toLowerCase() === 'org'
  );
}

/** What a budget is about, resolved for this caller. */
export interface BudgetTarget {
  scope: BudgetScope;
  /** '' for org. */
  targetId: string;
  targetName: string;
  /** Budget.workspaceId: '' for org and for a key of the Default workspace. */
  workspaceId: string;
  /** The workspace for the approval policy (null: org, or a key of the Default workspace). */
  workspace: Workspace | null;
  key: ApiKey | null;
}

const ORG_ONLY = `Only billing and admins see the organization's spend, so only they set or see its budget. You can set budgets on workspaces whose usage you see and on keys you see.`;

/**
 * The target a scope and a name (or id) mean. Unknown keys and keys the caller may not see get the one answer
 * (findKey); workspaces are public by name, but a workspace's budget is only for those who see its usage.
 */
export async function resolveTarget(
  s: Services,
  caller: Caller,
  scope: BudgetScope,
  target: string | undefined,
  commandText: string,
): Promise<BudgetTarget> {
  const t = target?.trim() ?? '';
  if (scope === 'org') {
    if (t) {
      throw new DomainError(
        'INVALID_INPUT',
        `An org budget names no target (you gave ${md.code(t)}): for example ${md.code(`${commandText} org 5000`)}.`,
      );
    }
    if (!seesAllKeys(caller)) throw new DomainError('FORBIDDEN', ORG_ONLY);
    return { scope, targetId: '', targetName: 'organization', workspaceId: '', workspace: null, key: null };
  }
  if (!t) {
    throw new DomainError(
      'INVALID_INPUT',
      `Name the ${scope}: its name or id, for example ${md.code(`${commandText} ${scope} ${scope === 'workspace' ? 'prod' : 'prod-chat'} …`)}.`,
    );
  }
  if (scope === 'workspace') {
    const ws = await findWorkspace(
      s,
      t,
      `The Default workspace cannot have a workspace budget (the cost report does not name it): set budgets on its keys, or an org budget.`,
    );
    if (!canSeeWorkspaceSpend(caller, ws.id)) throw new DomainError('FORBIDDEN', noWorkspaceSpend(ws));
    return { scope, targetId: ws.id, targetName: ws.name, workspaceId: ws.id, workspace: ws, key: null };
  }
  const key = await findKey(s, t, caller);
  const ws = key.workspaceId ? (await s.directory.read()).workspace(key.workspaceId) : null;
  return { scope, targetId: key.id, targetName: key.name, workspaceId: key.workspaceId ?? '', workspace: ws, key };
}

export function noWorkspaceSpend(ws: Pick<Workspace, 'name'>): string {
  return `You do not see the usage of workspace ${md.bold(ws.name)} (you see the workspaces where you are a developer or admin), so you cannot set or see its budget.`;
}

/**
 * An existing budget the caller may see, named by its target's id or name (so that a budget on a key since archived,
 * or a workspace since archived, can still be shown and cleared). Null: none matches.
 */
export async function findVisibleBudget(
  s: Services,
  caller: Caller,
  scope: BudgetScope,
  target: string | undefined,
): Promise<Budget | null> {
  const t = target?.trim().toLowerCase() ?? '';
  if (scope === 'org') return t || !seesAllKeys(caller) ? null : s.store.limits.findBudget('org', '');
  if (!t) return null;
  const budgets = (await visibleBudgets(s, caller)).filter((b) => b.scope === scope);
  const byId = budgets.find((b) => b.targetId.toLowerCase() === t);
  if (byId) return byId;
  const byName = budgets.filter((b) => b.targetName.toLowerCase() === t);
  return byName.length === 1 ? byName[0]! : null;
}

/** Every budget the caller may see: org first, then workspaces, then keys, each by name. */
export async function visibleBudgets(s: Services, caller: Caller): Promise<Budget[]> {
  const directory = await s.directory.forList();
  const order: Record<BudgetScope, number> = { org: 0, workspace: 1, key: 2 };
  return (await s.store.limits.listBudgets())
    .filter((b) => canSeeBudget(caller, b, b.scope === 'key' ? directory.apiKey(b.targetId) : null))
    .sort((a, b) => order[a.scope] - order[b.scope] || a.targetName.localeCompare(b.targetName));
}

const DIRECT_ROLES = new Set(['admin', 'billing', 'owner', 'primary_owner']);

/**
 * Whether the caller sets budgets directly: billing or an admin, by the role as the Admin API says it is now (the
 * dispatcher has read it live for these commands; read it here otherwise).
 */
export async function setsDirectly(s: Services, caller: Caller): Promise<boolean> {
  if (!caller.orgUser || !DIRECT_ROLES.has(caller.orgUser.role)) return false;
  if (caller.roleCheckedLive === true) return true;
  const live = await s.admin.getUser(caller.orgUser.id);
  return DIRECT_ROLES.has(live.role);
}

/**
 * Where a budget's alerts go, as the caller reads it: "this channel", a channel link on the same platform and team,
 * else the platform and the id.
 */
export function channelWhere(
  b: Pick<Budget, 'platform' | 'teamId' | 'channelId'>,
  here: Pick<InvocationInfo, 'platform' | 'teamId' | 'channelId'>,
): string {
  if (b.platform === here.platform && b.teamId === here.teamId) {
    return b.channelId === here.channelId ? 'this channel' : md.channel(b.channelId);
  }
  return `${b.platform === 'slack' ? 'Slack' : 'Discord'} channel ${md.code(b.channelId)}`;
}

export { budgetTarget };
