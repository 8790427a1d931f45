/**
 * What each Anthropic org role may do through Quartermaster. The admin key can do everything, so the bot
 * decides for itself (admin-api.md §4 "Bot guard"). Roles come from the Admin API, never from the chat platform.
 */
export type Permission =
  | 'workspaces:read'
  | 'members:read'
  /** See keys in one's own workspaces and keys one created. */
  | 'keys:read'
  /** See every key in the organization. */
  | 'keys:read:all'
  | 'audit:read'
  /** Link and unlink other people's chat accounts; decide link requests. */
  | 'links:manage'
  /** See every approval request (others see their own and those they may approve). */
  | 'requests:read:all'
  /** Subscribe channels to the spend digest, unsubscribe them, preview it. */
  | 'digests:manage'
  /** List and close leak incidents; install the Discord AutoMod rule. */
  | 'incidents:manage';

const USER: Permission[] = ['workspaces:read'];
const DEVELOPER: Permission[] = [...USER, 'members:read', 'keys:read'];
const BILLING: Permission[] = [...DEVELOPER, 'keys:read:all', 'digests:manage'];
const ADMIN: Permission[] = [...BILLING, 'audit:read', 'links:manage', 'requests:read:all', 'incidents:manage'];

const ROLE_PERMISSIONS: Record<string, Permission[]> = {
  user: USER,
  claude_code_user: USER,
  developer: DEVELOPER,
  billing: BILLING,
  admin: ADMIN,
  // Owners and primary owners (Enterprise) hold admin permissions.
  owner: ADMIN,
  primary_owner: ADMIN,
};

/** Org roles a caller can hold, least privileged first; an unknown role is treated like `user`. */
export const KNOWN_ORG_ROLES = ['user', 'claude_code_user', 'developer', 'billing', 'admin'] as const;

export function permissionsForRole(role: string | null): Set<Permission> {
  if (!role) return new Set();
  return new Set(ROLE_PERMISSIONS[role] ?? USER);
}

/** The least privileged known role that has the permission, for "you need …" messages. */
export function roleNeededFor(permission: Permission): string {
  for (const role of KNOWN_ORG_ROLES) if (ROLE_PERMISSIONS[role]!.includes(permission)) return role;
  return 'admin';
}

export const ORG_ROLE_LABELS: Record<string, string> = {
  user: 'User',
  claude_code_user: 'Claude Code user',
  developer: 'Developer',
  billing: 'Billing',
  admin: 'Admin',
};

export const WORKSPACE_ROLES = [
  'workspace_user',
  'workspace_restricted_developer',
  'workspace_developer',
  'workspace_admin',
  'workspace_billing',
] as const;
