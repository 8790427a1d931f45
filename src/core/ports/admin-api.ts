/**
 * The Anthropic Admin API as the core sees it (see ../shared/admin-api.md). Implemented by
 * src/anthropic/client.ts over the official SDK. Lists are returned whole: the implementation pages to the end.
 * Objects keep only the fields the core uses; unknown fields and enum values from the API are tolerated
 * (roles and statuses are plain strings).
 */
export interface OrgUser {
  id: string;
  email: string;
  name: string;
  /** `user | claude_code_user | developer | billing | admin`, or a newer value the API adds. */
  role: string;
  addedAt: string | null;
}

export interface Invite {
  id: string;
  email: string;
  role: string;
  /** `pending | accepted | expired | deleted` */
  status: string;
  invitedAt: string | null;
  expiresAt: string | null;
}

export interface Workspace {
  id: string;
  name: string;
  createdAt: string | null;
  archivedAt: string | null;
  displayColor: string | null;
}

export interface WorkspaceMember {
  userId: string;
  workspaceId: string;
  /** `workspace_user | workspace_restricted_developer | workspace_developer | workspace_admin | workspace_billing` */
  workspaceRole: string;
}

export interface ApiKey {
  id: string;
  name: string;
  /** `active | inactive | archived | expired` */
  status: string;
  /** `sk-ant-api03-R2D...igAA`: never more of the secret than this. */
  partialKeyHint: string | null;
  /** null for the Default workspace and for organization-scoped keys. */
  workspaceId: string | null;
  createdAt: string | null;
  createdBy: { id: string; type: string } | null;
  expiresAt: string | null;
}

export interface Organization {
  id: string;
  name: string;
}

export type ApiKeyStatus = 'active' | 'inactive' | 'archived' | 'expired';

export interface AdminApi {
  getOrganization(): Promise<Organization>;

  listUsers(filter?: { email?: string }): Promise<OrgUser[]>;
  getUser(userId: string): Promise<OrgUser>;
  updateUserRole(userId: string, role: string): Promise<OrgUser>;
  removeUser(userId: string): Promise<void>;

  listInvites(): Promise<Invite[]>;
  createInvite(input: { email: string; role: string }): Promise<Invite>;
  deleteInvite(inviteId: string): Promise<void>;

  listWorkspaces(filter?: { includeArchived?: boolean }): Promise<Workspace[]>;
  getWorkspace(workspaceId: string): Promise<Workspace>;
  createWorkspace(input: { name: string }): Promise<Workspace>;
  archiveWorkspace(workspaceId: string): Promise<Workspace>;

  listWorkspaceMembers(workspaceId: string): Promise<WorkspaceMember[]>;
  addWorkspaceMember(workspaceId: string, userId: string, workspaceRole: string): Promise<WorkspaceMember>;
  updateWorkspaceMember(workspaceId: string, userId: string, workspaceRole: string): Promise<WorkspaceMember>;
  removeWorkspaceMember(workspaceId: string, userId: string): Promise<void>;

  listApiKeys(filter?: { workspaceId?: string; status?: ApiKeyStatus; createdByUserId?: string }): Promise<ApiKey[]>;
  getApiKey(keyId: string): Promise<ApiKey>;
  updateApiKey(keyId: string, input: { name?: string; status?: 'active' | 'inactive' | 'archived' }): Promise<ApiKey>;
}

/**
 * What went wrong talking to the Admin API, already classified. Thrown by every AdminApi method.
 * `kind` is derived from the HTTP status (401 auth, 403 permission, 404 not_found, 409 conflict,
 * 400/422 invalid, 429 rate_limited, 5xx/529 unavailable, no answer in time → timeout, no connection → network).
 */
export type AdminApiErrorKind =
  | 'auth'
  | 'permission'
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'network';

export class AdminApiError extends Error {
  readonly kind: AdminApiErrorKind;
  readonly status: number | null;
  /** The API's own `error.message` (never contains the admin key). */
  readonly apiMessage: string;
  readonly requestId: string | null;
  /** How many attempts were made, retries included. */
  readonly attempts: number;
  constructor(o: {
    kind: AdminApiErrorKind;
    status: number | null;
    apiMessage: string;
    requestId?: string | null;
    attempts?: number;
  }) {
    super(`Admin API ${o.status ?? o.kind}: ${o.apiMessage}`);
    this.name = 'AdminApiError';
    this.kind = o.kind;
    this.status = o.status;
    this.apiMessage = o.apiMessage;
    this.requestId = o.requestId ?? null;
    this.attempts = o.attempts ?? 1;
  }
}
