/**
 * What a caller may see of the organization, in one place: the list commands show exactly this, and every
 * command that names a key, a member or a request resolves, suggests and echoes only this. Something the
 * caller may not see gets the same answer as something that does not exist.
 *
 *  - Keys: billing and admins see every key; everyone else sees the keys they created and the keys of the
 *    workspaces where they are a developer or admin (as in the Console).
 *  - Members: `members:read` (developer and up) sees every member; everyone else only themselves.
 *  - Requests: admins see every request; everyone else their own and those they may approve.
 *  - Budgets (their spend): the org's to billing and admins; a workspace's to those who see its usage (billing,
 *    admins, its developers and admins, as `/qm usage`); a key's to those who see the key.
 */
import { matchesPrincipals, type Policy, type Principals } from '../approvals/policy.js';
import type { ApiKey, OrgUser } from '../ports/admin-api.js';
import type { Budget } from '../ports/limits.js';
import type { ApprovalRequest } from '../ports/store.js';
import type { Caller } from './caller.js';

/** Workspace roles that can see a workspace's keys in the Console. */
export const KEY_VIEWING_ROLES = new Set(['workspace_developer', 'workspace_restricted_developer', 'workspace_admin']);

export function seesAllKeys(caller: Caller): boolean {
  return caller.permissions.has('keys:read:all');
}

export function canSeeKey(caller: Caller, key: ApiKey): boolean {
  if (!caller.orgUser) return false;
  if (seesAllKeys(caller) || key.createdBy?.id === caller.orgUser.id) return true;
  return (
    key.workspaceId !== null &&
    caller.memberships.some((m) => m.workspaceId === key.workspaceId && KEY_VIEWING_ROLES.has(m.workspaceRole))
  );
}

export function seesAllMembers(caller: Caller): boolean {
  return caller.permissions.has('members:read');
}

export function canSeeMember(caller: Caller, user: Pick<OrgUser, 'id'>): boolean {
  if (!caller.orgUser) return false;
  return seesAllMembers(caller) || user.id === caller.orgUser.id;
}

export function canSeeRequest(caller: Caller, request: ApprovalRequest, policy: Policy): boolean {
  if (!caller.orgUser) return false;
  if (caller.permissions.has('requests:read:all') || request.requester.orgUserId === caller.orgUser.id) return true;
  const workspaceRole = request.workspaceId
    ? (caller.memberships.find((m) => m.workspaceId === request.workspaceId)?.workspaceRole ?? null)
    : null;
  return matchesPrincipals(
    request.approvers as unknown as Principals,
    {
      orgRole: caller.orgUser.role,
      email: caller.orgUser.email,
      workspaceRole,
      chatAccount: `${caller.platform}:${caller.userId}`,
    },
    policy,
  );
}

/** Whether the caller sees all of a workspace's usage and spend (billing, admins, its developers and admins). */
export function canSeeWorkspaceSpend(caller: Caller, workspaceId: string): boolean {
  if (!caller.orgUser) return false;
  if (seesAllKeys(caller)) return true;
  return caller.memberships.some((m) => m.workspaceId === workspaceId && KEY_VIEWING_ROLES.has(m.workspaceRole));
}

/** Whether the caller may see a budget and its spend; `key` is the budget's key as synced (null: not known). */
export function canSeeBudget(
  caller: Caller,
  budget: Pick<Budget, 'scope' | 'targetId'>,
  key: ApiKey | null = null,
): boolean {
  if (!caller.orgUser) return false;
  switch (budget.scope) {
    case 'org':
      return seesAllKeys(caller);
    case 'workspace':
      return canSeeWorkspaceSpend(caller, budget.targetId);
    case 'key':
      return seesAllKeys(caller) || (key !== null && canSeeKey(caller, key));
  }
}
