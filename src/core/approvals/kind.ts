/**
 * What a kind of request is: the contract between the approval engine and each executor. Its own module so that
 * executors (kinds.ts, key-requests.ts, invites.ts) and the engine depend on it, not on each other.
 */
import type { ApprovalRequest } from '../ports/store.js';
import type { Services } from '../services.js';

export interface ExecutionResult {
  /** Shown on the card and to the requester: only what the requester may see. */
  message: string;
  /**
   * What the requester may not see (how many keys went, that someone is already a member): written only to the
   * audit log, which only admins read, after `message`.
   */
  auditDetail?: string;
  /** Stored with the request. */
  data?: Record<string, unknown>;
}

export interface KindDefinition {
  kind: string;
  execute(request: ApprovalRequest, services: Services): Promise<ExecutionResult>;
}
