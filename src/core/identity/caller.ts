import type { OrgUser, WorkspaceMember } from '../ports/admin-api.js';
import type { IdentityLink, Platform } from '../ports/store.js';
import type { Permission } from './permissions.js';

/** The person behind an invocation, as resolved before authorization. */
export interface Caller {
  platform: Platform;
  teamId: string;
  userId: string;
  displayName: string | null;
  /** Null when the chat account is not linked to an org member; `unlinkedReason` then says why. */
  link: IdentityLink | null;
  orgUser: OrgUser | null;
  unlinkedReason: string | null;
  /** Set when the chat platform says this account may not use Quartermaster at all (not even to ask for a link). */
  refused?: 'guest' | 'external' | 'bot' | 'deleted';
  permissions: ReadonlySet<Permission>;
  /** Explicit workspace memberships (org admins additionally inherit workspace_admin everywhere). */
  memberships: WorkspaceMember[];
  /**
   * Set when the org role (and with it `permissions`) was read from the Admin API for this invocation rather
   * than taken from the synced directory copy, which may be minutes old.
   */
  roleCheckedLive?: boolean;
}

export function isLinked(c: Caller): c is Caller & { link: IdentityLink; orgUser: OrgUser } {
  return c.link !== null && c.orgUser !== null;
}
