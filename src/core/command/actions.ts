/**
 * Buttons. A button carries only an opaque action id; what it means (kind, subject, choice) lives in the
 * database. A click is re-checked at that moment: the clicker is resolved and authorized again, and the
 * handler re-reads the subject's current state. Nothing in the click payload is trusted.
 */
import type { Caller } from '../identity/caller.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import type { Reply } from './reply.js';

export interface ActionContext {
  caller: Caller;
  services: Services;
  subjectId: string;
  choice: string;
  platform: Platform;
  teamId: string;
  /** The message the button is on (its card), when the platform says. */
  messageId: string | null;
  /**
   * Edits the card through this click's own interaction (valid for a while after the click): the way to show a
   * later outcome where the platform gives no bot token (Discord's HTTP interactions without DISCORD_TOKEN).
   */
  editCard?: (reply: Reply) => Promise<void>;
}

export interface ActionResult {
  /** Replaces the message the button was on (the card), for everyone who can see it. */
  card?: Reply;
  /** Shown only to the person who clicked. */
  notice?: Reply;
  /** Audit outcome: `denied` when the clicker may not decide, `failed` when the action could not be done. */
  outcome: 'allowed' | 'denied' | 'failed';
  errorCode?: string;
  message: string;
  /** Runs once the card and notice have been shown (e.g. start executing, so "Done" cannot be overwritten). */
  afterRender?: () => void;
}

export interface ActionDefinition {
  /** e.g. `link.decide`; stored with each action id. */
  kind: string;
  handler(ctx: ActionContext): Promise<ActionResult>;
}

export class ActionRegistry {
  private readonly byKind = new Map<string, ActionDefinition>();
  constructor(definitions: readonly ActionDefinition[]) {
    for (const d of definitions) {
      if (this.byKind.has(d.kind)) throw new Error(`Action kind "${d.kind}" is defined twice`);
      this.byKind.set(d.kind, d);
    }
  }
  get(kind: string): ActionDefinition | undefined {
    return this.byKind.get(kind);
  }
}
