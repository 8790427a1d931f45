/**
 * Typed failures of the core. Each adapter turns a DomainError into a reply the person who typed the
 * command can act on; `userMessage` is always safe to show (it never contains a secret).
 */
export type DomainErrorCode =
  /** The caller is not linked to an org member, or their chat account is not allowed (guest, external). */
  | 'UNLINKED'
  /** The caller is linked but their org or workspace role does not allow the action. */
  | 'FORBIDDEN'
  /** The command text or an option was malformed. */
  | 'INVALID_INPUT'
  /** A workspace, member or key named in the command does not exist. */
  | 'NOT_FOUND'
  /** The change conflicts with the current state (already done, concurrent change). */
  | 'CONFLICT'
  /** The caller tried too often; the message says when to try again. */
  | 'RATE_LIMITED'
  /** The Anthropic Admin API failed or refused, after retrying where that was safe. */
  | 'UPSTREAM_FAILED'
  /** Something unexpected broke inside Quartermaster. */
  | 'INTERNAL';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly userMessage: string;
  readonly detail?: Record<string, unknown>;
  constructor(code: DomainErrorCode, userMessage: string, detail?: Record<string, unknown>) {
    super(userMessage);
    this.name = 'DomainError';
    this.code = code;
    this.userMessage = userMessage;
    this.detail = detail;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
