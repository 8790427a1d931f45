import type { ApprovalEngine } from './approvals/engine.js';
import type { Policy } from './approvals/policy.js';
import type { DirectoryService } from './directory.js';
import type { AdminApi, Organization } from './ports/admin-api.js';
import type { ChatNotifier, Clock, Logger } from './ports/runtime.js';
import type { Store } from './ports/store.js';

/** What command handlers may use. Built once in src/main.ts. */
export interface Services {
  admin: AdminApi;
  store: Store;
  directory: DirectoryService;
  clock: Clock;
  logger: Logger;
  /** The approval policy (quartermaster.yaml, or the built-in defaults). */
  policy: Policy;
  /** The organization behind the admin key (cached after the first call). */
  organization(): Promise<Organization>;
  /** Posting and editing outside an interaction, per connected platform. */
  notifiers: Partial<Record<'slack' | 'discord', ChatNotifier>>;
  /** Files, decides and carries out requests (set once the services exist: it uses them). */
  approvals: ApprovalEngine;
  /** Settings the operator chose that commands need to word their answers. */
  settings: {
    /** True when running against the built-in simulated organization. */
    simulated: boolean;
  };
}
