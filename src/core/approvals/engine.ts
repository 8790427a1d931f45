/**
 * The approval engine: requests are filed under the policy, decided by votes on cards, and carried out
 * through a durable outbox.
 *
 * Guarantees (see src/store/approvals-store.ts for how the database enforces them):
 *  - the requester never approves their own request, and the member a request is about (its subject) never votes
 *    on it, approve or deny (the card says so); every click is re-checked against the stored request
 *    and the clicker's *current* org role, read live from the Admin API (never the button's payload);
 *  - N-of-M quorum; one deny closes the request; duplicate and concurrent clicks cause one transition;
 *  - an approved request is executed from the outbox, survives a crash (the lease expires and another runner
 *    takes it over), and executors are idempotent, so its effect happens once; a live runner renews its lease
 *    while the executor works (an Admin API call may outlast it), and its finish is fenced on its claim, so a
 *    runner that was taken over anyway never reports a second outcome;
 *  - a click after the expiry time never counts: it closes the request as expired instead;
 *  - failures the API says are temporary are retried with backoff; others are reported on the card and to
 *    the requester.
 */
import { describeAdminApiError } from '../admin-errors.js';
import type { ActionContext, ActionDefinition, ActionResult } from '../command/actions.js';
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import { DomainError } from '../errors.js';
import type { Caller } from '../identity/caller.js';
import { isLinked } from '../identity/caller.js';
import { canSeeRequest } from '../identity/visibility.js';
import { AdminApiError, type OrgUser, type Workspace } from '../ports/admin-api.js';
import type { ApprovalRequest, ApprovalVote, Platform } from '../ports/store.js';
import { redactDeep, redactSecrets } from '../secrets.js';
import type { Approvals, Services, SubmitInput } from '../services.js';
import type { KindDefinition } from './kind.js';
import {
  type EffectivePolicy,
  formatDuration,
  matchesPrincipals,
  type Principals,
  type RequestKind,
} from './policy.js';

export const APPROVAL_VOTE = 'approval.vote';
const RETRYABLE = new Set(['rate_limited', 'unavailable', 'timeout', 'network', 'conflict']);

export interface EngineOptions {
  /** How long a runner owns an execution before another may take it over (crash recovery). */
  leaseMs?: number;
  maxAttempts?: number;
  /** Backoff before retry n (1-based). */
  backoffMs?: (attempt: number) => number;
}

export type { SubmitInput };

export class ApprovalEngine implements Approvals {
  private readonly kinds: Map<string, KindDefinition>;
  private running: Promise<number> | null = null;
  /** Per request: the last click's own card editor, for platforms without a bot-token notifier. */
  private readonly clickEditors = new Map<
    string,
    { platform: string; edit: (reply: Reply) => Promise<void>; until: number }
  >();
  private again = false;
  readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: (attempt: number) => number;

  constructor(
    private readonly services: Services,
    kinds: readonly KindDefinition[],
    o: EngineOptions = {},
  ) {
    this.kinds = new Map(kinds.map((k) => [k.kind, k]));
    this.leaseMs = o.leaseMs ?? 60_000;
    this.maxAttempts = o.maxAttempts ?? 5;
    this.backoffMs = o.backoffMs ?? ((n) => Math.min(60_000, 2_000 * 2 ** (n - 1)));
  }

  // --- filing ------------------------------------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<Reply> {
    const { caller, kind } = input;
    if (!isLinked(caller))
      throw new DomainError('UNLINKED', caller.unlinkedReason ?? 'Your chat account is not linked.');
    const s = this.services;
    const policy = s.policy.resolve(kind, input.workspace?.name ?? null);
    const requesterRole = input.workspace
      ? (caller.memberships.find((m) => m.workspaceId === input.workspace!.id)?.workspaceRole ?? null)
      : null;
    const me = {
      orgRole: caller.orgUser.role,
      email: caller.orgUser.email,
      workspaceRole: requesterRole,
      chatAccount: `${caller.platform}:${caller.userId}`,
    };
    if (!matchesPrincipals(policy.requesters, me, s.policy)) {
      throw new DomainError(
        'FORBIDDEN',
        `The approval policy does not let you request ${md.code(kind)}${input.workspace ? ` in ${md.escape(input.workspace.name)}` : ''} (requesters: ${describePrincipals(policy.requesters)}).`,
      );
    }
    const now = s.clock.now();
    // Acting without approval needs the role as the Admin API says it is now, never the synced copy.
    const direct =
      policy.adminsActDirectly &&
      caller.roleCheckedLive === true &&
      ['admin', 'owner', 'primary_owner'].includes(caller.orgUser.role);
    const request = await this.file(
      {
        platform: caller.platform,
        teamId: caller.teamId,
        userId: caller.userId,
        orgUserId: caller.orgUser.id,
        email: caller.orgUser.email,
      },
      input,
      policy,
      direct ? 'approved' : 'pending',
      now,
    );
    if (direct) {
      this.kick();
      return reply({
        tone: 'success',
        title: `Request ${request.id}: running now`,
        text: `${md.escape(input.summary)}\nThe policy lets org admins act directly; this is recorded in the audit log. You will get a message when it is done.`,
      });
    }
    const card = await this.card(request, []);
    // The playground has one channel: its cards stay where the command was typed.
    const target = caller.platform === 'playground' ? undefined : policy.channels[caller.platform];
    const notifier = s.notifiers[caller.platform];
    if (target && target !== input.channelId && notifier) {
      try {
        const ref = await notifier.post(caller.teamId, target, card);
        await s.store.approvals.addCard({
          requestId: request.id,
          platform: caller.platform,
          teamId: caller.teamId,
          ...ref,
        });
        return reply({
          title: `Request ${request.id} filed`,
          text: `${md.escape(input.summary)}\nThe approval card is in the approvers' channel. ${quorumText(request.quorum)} needed; it expires in ${formatDuration(policy.expiresAfterMs)}.`,
        });
      } catch (err) {
        // Most often the bot is not in that channel. The request exists: post its card here rather than leave it
        // where nobody can vote, and say why so the operator can fix the channel.
        s.logger.warn(
          { err, channel: target, request: request.id },
          'could not post the approval card to the policy channel',
        );
        card.blocks.unshift({
          type: 'context',
          text: `Could not post this card in the approvers' channel (${md.code(target)}): invite the bot there. Posting it here instead.`,
        });
      }
    }
    return {
      ...card,
      track: (ref) =>
        s.store.approvals.addCard({ requestId: request.id, platform: caller.platform, teamId: caller.teamId, ...ref }),
    };
  }

  /** Stores a request under the policy that applies to it (its approvers, quorum and expiry are kept with it). */
  private file(
    requester: ApprovalRequest['requester'],
    input: Pick<SubmitInput, 'kind' | 'workspace' | 'payload' | 'reason' | 'summary'>,
    policy: EffectivePolicy,
    status: 'pending' | 'approved',
    now: Date,
  ): Promise<ApprovalRequest> {
    return this.services.store.approvals.create({
      kind: input.kind,
      status,
      requester,
      workspaceId: input.workspace?.id ?? null,
      workspaceName: input.workspace?.name ?? null,
      payload: input.payload,
      reason: input.reason,
      summary: input.summary,
      quorum: policy.quorum,
      approvers: { ...policy.approvers },
      policySource: policy.source,
      createdAt: now,
      expiresAt: new Date(now.getTime() + policy.expiresAfterMs),
    });
  }

  // --- deciding ----------------------------------------------------------------------------------------------

  async vote(ctx: ActionContext): Promise<ActionResult> {
    const s = this.services;
    const { caller } = ctx;
    const request = await s.store.approvals.get(ctx.subjectId);
    if (!request) return refused('failed', 'NOT_FOUND', 'This request no longer exists.');
    if (!isLinked(caller))
      return refused('denied', 'UNLINKED', caller.unlinkedReason ?? 'Link your chat account first (`/qm link`).');
    if (caller.orgUser.id === request.requester.orgUserId) {
      return refused('denied', 'SELF_APPROVAL', 'You cannot decide your own request.');
    }
    if (request.status !== 'pending') {
      return { ...refused('failed', closedCode(request), closedText(request)), card: await this.card(request) };
    }
    const checked = await this.liveApprover(ctx, request.approvers as unknown as Principals, request.workspaceId);
    if ('refused' in checked) return checked.refused;
    const { live } = checked;
    // The person a request is about (a role change, a workspace membership) never decides it, either way: an
    // approval would be self-promotion, a deny would let them block a change to themselves.
    if (isSubject(request, live)) {
      return refused(
        'denied',
        'SUBJECT_VOTE',
        `You cannot vote on this request: it is about you (${md.escape(live.email)}). Another approver decides it.`,
      );
    }
    const outcome = await s.store.approvals.vote(
      {
        requestId: request.id,
        voterOrgId: live.id,
        voterEmail: live.email,
        platform: ctx.platform as Platform,
        userId: caller.userId,
        choice: ctx.choice === 'deny' ? 'deny' : 'approve',
        at: s.clock.now(),
      },
      request.quorum,
    );
    if (outcome.vote === 'duplicate') {
      return {
        outcome: 'failed',
        errorCode: 'DUPLICATE_VOTE',
        message: 'already voted',
        notice: notice('You have already voted on this request.'),
      };
    }
    if (outcome.vote === 'closed') {
      const card = await this.card(outcome.request, outcome.votes);
      // The click came after the expiry time and closed the request itself (the expiry job had not run yet).
      if (outcome.transitioned === 'expired') {
        await this.refreshCards(outcome.request, card, ctx);
        await this.tellExpired(outcome.request);
      }
      return { ...refused('failed', closedCode(outcome.request), closedText(outcome.request)), card };
    }
    if (!s.notifiers[ctx.platform] && ctx.editCard) {
      // Interaction tokens last 15 minutes: keep a margin.
      this.clickEditors.set(request.id, {
        platform: ctx.platform,
        edit: ctx.editCard,
        until: Date.now() + 14 * 60_000,
      });
    }
    const card = await this.card(outcome.request, outcome.votes);
    await this.refreshCards(outcome.request, card, ctx);
    if (outcome.transitioned === 'approved') {
      await this.tellRequester(
        outcome.request,
        `Your request ${outcome.request.id} was approved by ${md.escape(live.email)}: ${md.escape(outcome.request.summary)}. Carrying it out now.`,
      );
    } else if (outcome.transitioned === 'denied') {
      await this.tellRequester(
        outcome.request,
        `Your request ${outcome.request.id} was denied by ${md.escape(live.email)}: ${md.escape(outcome.request.summary)}.`,
      );
    }
    return {
      outcome: 'allowed',
      message: `${ctx.choice} ${request.id}${outcome.transitioned ? ` → ${outcome.transitioned}` : ''}`,
      card,
      // Execute only after this card is shown, so the "Done" card that follows can never be overwritten by it.
      ...(outcome.transitioned === 'approved' ? { afterRender: () => this.kick() } : {}),
    };
  }

  /**
   * The clicker, re-read from the Admin API now (a role changed since the request, or since the last directory
   * sync, counts), if they match the approver principals; otherwise the refusal to show them.
   */
  private async liveApprover(
    ctx: ActionContext,
    approvers: Principals,
    workspaceId: string | null,
  ): Promise<{ live: OrgUser } | { refused: ActionResult }> {
    const s = this.services;
    const { caller } = ctx;
    if (!isLinked(caller))
      return {
        refused: refused('denied', 'UNLINKED', caller.unlinkedReason ?? 'Link your chat account first (`/qm link`).'),
      };
    const live = await s.admin.getUser(caller.orgUser.id).catch((err) => {
      if (err instanceof AdminApiError && err.kind === 'not_found') return null;
      throw err;
    });
    if (!live)
      return { refused: refused('denied', 'UNLINKED', 'You are no longer a member of the Anthropic organization.') };
    await s.directory.upsertUsers([live]);
    let workspaceRole: string | null = null;
    if (workspaceId && approvers.workspaceRoles?.length) {
      workspaceRole =
        (await s.admin.listWorkspaceMembers(workspaceId)).find((m) => m.userId === live.id)?.workspaceRole ?? null;
    }
    const who = {
      orgRole: live.role,
      email: live.email,
      workspaceRole,
      chatAccount: `${ctx.platform}:${caller.userId}`,
    };
    if (!matchesPrincipals(approvers, who, s.policy)) {
      return {
        refused: refused(
          'denied',
          'FORBIDDEN',
          `You are not an approver for this request (approvers: ${describePrincipals(approvers)}; you are ${md.code(live.role)}).`,
        ),
      };
    }
    return { live };
  }

  /**
   * Whether the clicker is, right now (role read live), one of the approvers the policy names for `kind` (in the
   * workspace, if any): for buttons that decide without filing a request (a leak's False positive).
   */
  async checkApprover(
    ctx: ActionContext,
    kind: RequestKind,
    workspace: Workspace | null,
  ): Promise<{ live: OrgUser } | { refused: ActionResult }> {
    const policy = this.services.policy.resolve(kind, workspace?.name ?? null);
    return this.liveApprover(ctx, policy.approvers, workspace?.id ?? null);
  }

  /**
   * An approver's one-click response on an alert card (Re-enable on a budget alert, Disable key on a runaway-spend
   * alert). The clicker is checked now, live, against the approvers the policy names for the kind (in the
   * workspace, if any): anyone else is refused. For an approver the request is filed by them with their approval
   * counted: with a quorum of 1 it is approved and carried out from the outbox at once (durable, retried, audited
   * like every request); with a larger quorum its card is posted beside the alert for the other approvers.
   * `card`, when given, is the alert card: it is tracked as a card of the request, so it shows the outcome.
   */
  async respond(
    ctx: ActionContext,
    input: Omit<SubmitInput, 'caller' | 'channelId'> & { card?: { channelId: string; messageId: string } | null },
  ): Promise<ActionResult & { request?: ApprovalRequest }> {
    const s = this.services;
    const { caller } = ctx;
    const policy = s.policy.resolve(input.kind, input.workspace?.name ?? null);
    const checked = await this.liveApprover(ctx, policy.approvers, input.workspace?.id ?? null);
    if ('refused' in checked) return checked.refused;
    if (!isLinked(caller)) throw new Error('unreachable: liveApprover refuses the unlinked');
    const { live } = checked;
    const now = s.clock.now();
    const quorumOne = policy.quorum <= 1;
    const request = await this.file(
      {
        platform: caller.platform,
        teamId: caller.teamId,
        userId: caller.userId,
        orgUserId: live.id,
        email: live.email,
      },
      input,
      policy,
      quorumOne ? 'approved' : 'pending',
      now,
    );
    if (input.card)
      await s.store.approvals.addCard({
        requestId: request.id,
        platform: ctx.platform as Platform,
        teamId: ctx.teamId,
        ...input.card,
      });
    if (quorumOne) {
      return {
        outcome: 'allowed',
        message: `${input.kind} ${request.id} approved by ${live.email}`,
        request,
        card: await this.card(request, []),
        afterRender: () => this.kick(),
      };
    }
    const outcome = await s.store.approvals.vote(
      {
        requestId: request.id,
        voterOrgId: live.id,
        voterEmail: live.email,
        platform: ctx.platform as Platform,
        userId: caller.userId,
        choice: 'approve',
        at: now,
      },
      request.quorum,
    );
    const card = await this.card(outcome.request, outcome.votes);
    return {
      outcome: 'allowed',
      message: `${input.kind} ${request.id} filed with ${live.email}'s approval`,
      request: outcome.request,
      card,
      notice: notice(
        `Request ${request.id} is filed with your approval; ${quorumText(request.quorum)} are needed, so the other approvers decide on this card.`,
      ),
    };
  }

  async cancel(caller: Caller, id: string): Promise<Reply> {
    const s = this.services;
    if (!isLinked(caller)) throw new DomainError('UNLINKED', caller.unlinkedReason ?? 'Link your chat account first.');
    const request = await s.store.approvals.get(id);
    // A request the caller may not see is answered as one that does not exist.
    if (!request || !canSeeRequest(caller, request, s.policy))
      throw new DomainError(
        'NOT_FOUND',
        `There is no request ${md.code(id)}. See ${md.code('/qm requests list mine')}.`,
      );
    if (request.requester.orgUserId !== caller.orgUser.id && !caller.permissions.has('links:manage')) {
      throw new DomainError('FORBIDDEN', 'Only the requester (or an org admin) can cancel a request.');
    }
    const closed = await s.store.approvals.close(request.id, 'cancelled', s.clock.now(), caller.orgUser.id);
    if (!closed)
      throw new DomainError(
        'CONFLICT',
        `Request ${request.id} is already ${statusWord(request)}; only pending requests can be cancelled.`,
      );
    await this.refreshCards(closed);
    if (closed.requester.orgUserId !== caller.orgUser.id)
      await this.tellRequester(
        closed,
        `Your request ${closed.id} was cancelled by ${md.escape(caller.orgUser.email)}.`,
      );
    return reply({ tone: 'success', title: `Request ${closed.id} cancelled`, text: md.escape(closed.summary) });
  }

  // --- carrying out ------------------------------------------------------------------------------------------

  /** Run the outbox now (after an approval), without making the caller wait; concurrent kicks coalesce. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runDue()
      .catch((err) => {
        this.services.logger.error({ err }, 'approval runner failed');
        return 0;
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Wait for a kicked run to finish (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Executes every approved request that is due; returns how many were attempted. */
  async runDue(): Promise<number> {
    const s = this.services;
    let n = 0;
    for (;;) {
      const r = await s.store.approvals.claimExecution(s.clock.now(), this.leaseMs);
      if (!r) return n;
      n++;
      await this.execute(r);
    }
  }

  private async execute(r: ApprovalRequest): Promise<void> {
    const s = this.services;
    const started = Date.now();
    const def = this.kinds.get(r.kind);
    const log = s.logger.child({ request: r.id, kind: r.kind, attempt: r.attempts });
    const lost = (step: string) =>
      log.warn(
        { step },
        'execution lease lost: another runner took the request over (or finished it), so this runner reports nothing',
      );
    // One Admin API call can outlast the lease (timeouts × retries): keep the claim alive while this runner works
    // on it, so no other runner takes it over. A process that dies stops renewing, and its lease lapses.
    const renewal = setInterval(
      () => {
        s.store.approvals
          .renewExecutionLease(r.id, r.attempts, new Date(s.clock.now().getTime() + this.leaseMs))
          .then((held) => {
            if (!held) log.warn({}, 'could not renew the execution lease: the request is no longer this runner’s');
          })
          .catch((err) => log.warn({ err }, 'renewing the execution lease failed'));
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    renewal.unref();
    try {
      if (!def) throw new DomainError('INTERNAL', `Quartermaster does not know how to carry out ${r.kind}.`);
      const result = await def.execute(r, s);
      const done = await s.store.approvals.finishExecution(r.id, r.attempts, {
        status: 'done',
        result: { message: result.message, ...result.data },
        error: null,
        at: s.clock.now(),
      });
      if (!done) return lost('recording that it is done');
      await this.auditExecution(
        done,
        'allowed',
        null,
        result.auditDetail ? `${result.message} ${result.auditDetail}` : result.message,
        started,
      );
      await this.refreshCards(done);
      await this.tellRequester(done, `Done: ${result.message}`);
    } catch (err) {
      const apiError = err instanceof AdminApiError ? err : null;
      const message = apiError
        ? describeAdminApiError(apiError)
        : err instanceof DomainError
          ? err.userMessage
          : 'Something went wrong inside Quartermaster.';
      if (apiError && RETRYABLE.has(apiError.kind) && r.attempts < this.maxAttempts) {
        const after = new Date(s.clock.now().getTime() + this.backoffMs(r.attempts));
        log.warn({ err, retryAt: after }, 'execution failed; will retry');
        if (!(await s.store.approvals.retryExecution(r.id, r.attempts, after, message)))
          return lost('scheduling a retry');
        // The scheduled job would pick it up too; a timer keeps the wait at the backoff, not the job interval.
        setTimeout(() => this.kick(), this.backoffMs(r.attempts)).unref();
        return;
      }
      log.error({ err }, 'execution failed');
      const failed = await s.store.approvals.finishExecution(r.id, r.attempts, {
        status: 'failed',
        result: null,
        error: message,
        at: s.clock.now(),
      });
      if (!failed) return lost('recording that it failed');
      await this.auditExecution(failed, 'failed', apiError ? 'UPSTREAM_FAILED' : 'INTERNAL', message, started);
      await this.refreshCards(failed);
      await this.tellRequester(
        failed,
        `Your request ${failed.id} was approved but could not be carried out: ${message}`,
      );
    } finally {
      clearInterval(renewal);
    }
  }

  private async auditExecution(
    r: ApprovalRequest,
    outcome: 'allowed' | 'failed',
    code: string | null,
    message: string,
    started: number,
  ) {
    await this.services.store.audit.append({
      platform: 'system',
      teamId: null,
      actorId: 'approvals',
      orgUserId: r.decidedBy,
      actorEmail: null,
      action: `execute ${r.kind}`,
      // Defence in depth: the payload and results hold names and texts that came from users or the API.
      options: redactDeep({ request: r.id, ...r.payload }),
      outcome,
      stage: 'run',
      errorCode: code,
      message: redactSecrets(message),
      durationMs: Date.now() - started,
    });
  }

  // --- time ----------------------------------------------------------------------------------------------------

  /** pending → expired for every request past its expiry. */
  async expireDue(): Promise<number> {
    const s = this.services;
    let n = 0;
    for (const r of await s.store.approvals.pendingExpiringBefore(s.clock.now())) {
      const closed = await s.store.approvals.close(r.id, 'expired', s.clock.now(), null);
      if (!closed) continue;
      n++;
      await this.refreshCards(closed);
      await this.tellExpired(closed);
    }
    return n;
  }

  private async tellExpired(r: ApprovalRequest): Promise<void> {
    await this.tellRequester(
      r,
      `Your request ${r.id} expired without a decision: ${md.escape(r.summary)}. Ask again if you still need it.`,
    );
  }

  /** Reminds approvers (by DM) once, `remindBefore` ahead of expiry. */
  async remindDue(): Promise<number> {
    const s = this.services;
    const now = s.clock.now();
    let n = 0;
    for (const r of await s.store.approvals.list({ statuses: ['pending'], limit: 500 })) {
      if (r.remindedAt) continue;
      const policy = s.policy.resolve(r.kind as RequestKind, r.workspaceName);
      if (policy.remindBeforeMs <= 0 || r.expiresAt.getTime() - policy.remindBeforeMs > now.getTime()) continue;
      // One reminder per request, even with several replicas or a re-run: only the caller that claims it sends it.
      if (!(await s.store.approvals.markReminded(r.id, now))) continue;
      n++;
      const votes = await s.store.approvals.votes(r.id);
      const voted = new Set(votes.map((v) => v.voterOrgId));
      const text = `Reminder: request ${r.id} from ${md.escape(r.requester.email)} needs your decision before ${when(r.expiresAt)}: ${md.escape(r.summary)}.`;
      for (const account of await this.approverAccounts(r, policy)) {
        if (voted.has(account.orgUserId) || account.orgUserId === r.requester.orgUserId) continue;
        if (isSubject(r, { id: account.orgUserId, email: '' })) continue;
        await s.notifiers[account.platform]
          ?.dm(account.teamId, account.userId, reply({ tone: 'warning', text }))
          .catch((err) => s.logger.warn({ err }, 'reminder DM failed'));
      }
    }
    return n;
  }

  /** Linked chat accounts of everyone the request's approver principals name. */
  private async approverAccounts(r: ApprovalRequest, _policy: EffectivePolicy) {
    const s = this.services;
    const approvers = r.approvers as unknown as Principals;
    const out: { platform: Platform; teamId: string; userId: string; orgUserId: string }[] = [];
    const directory = await s.directory.read();
    for (const u of directory.listUsers()) {
      const m = r.workspaceId ? directory.membershipsOf(u.id).find((x) => x.workspaceId === r.workspaceId) : undefined;
      for (const link of await s.store.links.listForOrgUser(u.id)) {
        const who = {
          orgRole: u.role,
          email: u.email,
          workspaceRole: m?.workspaceRole ?? null,
          chatAccount: `${link.platform}:${link.userId}`,
        };
        if (matchesPrincipals(approvers, who, s.policy))
          out.push({ platform: link.platform, teamId: link.teamId, userId: link.userId, orgUserId: u.id });
      }
    }
    return out;
  }

  // --- cards and messages --------------------------------------------------------------------------------------

  /** The approval card: who asked, what, why, the policy that applies, the votes so far, and the outcome. */
  async card(r: ApprovalRequest, votes?: ApprovalVote[]): Promise<Reply> {
    const s = this.services;
    const allVotes = votes ?? (await s.store.approvals.votes(r.id));
    const approvals = allVotes.filter((v) => v.choice === 'approve');
    const blocks: ReplyBlock[] = [
      {
        type: 'text',
        text: `${md.mention(r.requester.userId)} (${md.escape(r.requester.email)}) asks: ${md.bold(r.summary)}`,
      },
    ];
    // A request filed from an alert card (see respond) keeps what the alert said: that card now shows the request.
    // `alert` is composed by Quartermaster's own code with every user-controlled part already escaped.
    if (typeof r.payload.alert === 'string' && r.payload.alert) blocks.unshift({ type: 'text', text: r.payload.alert });
    const fields = [
      { label: 'Kind', value: md.code(r.kind) },
      { label: 'Workspace', value: r.workspaceName ? md.escape(r.workspaceName) : '—' },
      { label: 'Reason', value: r.reason ? md.escape(r.reason) : '—' },
      {
        label: 'Approvers',
        value: `${quorumText(r.quorum)} from ${describePrincipals(r.approvers as unknown as Principals)}`,
      },
    ];
    const subject = subjectEmail(r);
    if (subject && subject.toLowerCase() !== r.requester.email.toLowerCase())
      fields.push({ label: 'About', value: `${md.escape(subject)} (cannot vote on it)` });
    if (r.status === 'pending') fields.push({ label: 'Expires', value: when(r.expiresAt) });
    blocks.push({ type: 'fields', fields });
    // A request that never needed votes (an admin acting directly, an approver's one-click response) has no tally.
    if (allVotes.length || r.status === 'pending' || r.decidedBy !== r.requester.orgUserId)
      blocks.push({
        type: 'text',
        text: allVotes.length
          ? `**Votes** (${approvals.length}/${r.quorum}): ${allVotes.map((v) => `${v.choice === 'approve' ? '✅' : '❌'} ${md.escape(v.voterEmail)}`).join(' · ')}`
          : '**Votes**: none yet',
      });
    const decider = r.decidedBy ? ((await s.store.directory.getUser(r.decidedBy))?.email ?? r.decidedBy) : null;
    const status = statusLine(r, decider);
    blocks.push({ type: 'context', text: status });
    if (r.status === 'pending') {
      const [approve, deny] = await Promise.all([
        s.store.actionTokens.create({ kind: APPROVAL_VOTE, subjectId: r.id, choice: 'approve' }),
        s.store.actionTokens.create({ kind: APPROVAL_VOTE, subjectId: r.id, choice: 'deny' }),
      ]);
      blocks.push({
        type: 'actions',
        buttons: [
          { id: approve, label: 'Approve', style: 'primary' },
          { id: deny, label: 'Deny', style: 'danger' },
        ],
      });
    }
    const tone =
      r.status === 'done'
        ? 'success'
        : r.status === 'failed'
          ? 'error'
          : ['denied', 'expired', 'cancelled'].includes(r.status)
            ? 'warning'
            : 'info';
    return reply({
      visibility: 'in_channel',
      tone,
      title: `Request ${r.id}: ${md.escape(r.summary)}`,
      blocks,
      summary: `Request ${r.id} (${statusWord(r)}): ${r.summary}`,
    });
  }

  /** Edits every posted card of the request with the bot token, except the one being answered by a click. */
  private async refreshCards(r: ApprovalRequest, card?: Reply, clicked?: ActionContext): Promise<void> {
    const s = this.services;
    const body = card ?? (await this.card(r));
    const viaClick = this.clickEditors.get(r.id);
    for (const ref of await s.store.approvals.cards(r.id)) {
      if (clicked && clicked.platform === ref.platform && clicked.messageId === ref.messageId) continue;
      const notifier = s.notifiers[ref.platform];
      const update = notifier
        ? notifier.update(ref.teamId, { channelId: ref.channelId, messageId: ref.messageId }, body)
        : viaClick && viaClick.platform === ref.platform && viaClick.until >= Date.now()
          ? viaClick.edit(body)
          : Promise.resolve();
      await update.catch((err) => s.logger.warn({ err, request: r.id }, 'card update failed'));
    }
    // Final states need no more edits; expired editors are useless.
    if (
      viaClick &&
      (viaClick.until < Date.now() || ['done', 'failed', 'denied', 'expired', 'cancelled'].includes(r.status))
    ) {
      this.clickEditors.delete(r.id);
    }
  }

  private async tellRequester(r: ApprovalRequest, text: string): Promise<void> {
    const s = this.services;
    await s.notifiers[r.requester.platform]
      ?.dm(r.requester.teamId, r.requester.userId, reply({ text }))
      .catch((err) => s.logger.warn({ err, request: r.id }, 'could not message the requester'));
  }
}

export const approvalVoteAction: ActionDefinition = {
  kind: APPROVAL_VOTE,
  // A vote is this engine's own business (its cards, its buttons): the Approvals port does not expose it.
  handler: (ctx) => {
    const engine = ctx.services.approvals;
    if (!(engine instanceof ApprovalEngine)) throw new Error('approval buttons need the ApprovalEngine');
    return engine.vote(ctx);
  },
};

/** The org member a request is about, by id (role changes, workspace memberships, key requests). */
function subjectId(r: ApprovalRequest): string | null {
  const id = r.payload.userId;
  return typeof id === 'string' && id ? id : null;
}

function subjectEmail(r: ApprovalRequest): string | null {
  const email = r.payload.email;
  return typeof email === 'string' && email ? email : null;
}

/** Whether this member is the one the request is about (by id, or by email for an invite). */
function isSubject(r: ApprovalRequest, member: { id: string; email: string }): boolean {
  if (subjectId(r) === member.id) return true;
  const email = subjectEmail(r);
  return !!email && !!member.email && email.toLowerCase() === member.email.toLowerCase();
}

function refused(outcome: 'denied' | 'failed', code: string, text: string): ActionResult {
  return { outcome, errorCode: code, message: text, notice: notice(text) };
}

/** What a click on a request that is no longer pending is told. */
function closedText(r: ApprovalRequest): string {
  return r.status === 'expired'
    ? `This request expired at ${when(r.expiresAt)}; it can no longer be decided.`
    : `This request is already ${statusWord(r)}.`;
}

function closedCode(r: ApprovalRequest): string {
  return r.status === 'expired' ? 'EXPIRED' : 'CONFLICT';
}

function notice(text: string): Reply {
  return reply({ tone: 'warning', text });
}

export function quorumText(q: number): string {
  return q === 1 ? '1 approval' : `${q} approvals`;
}

export function describePrincipals(p: Principals): string {
  const parts: string[] = [];
  if (p.roles?.length) parts.push(`org ${p.roles.map((r) => md.code(r)).join('/')}`);
  if (p.workspaceRoles?.length) parts.push(`workspace ${p.workspaceRoles.map((r) => md.code(r)).join('/')}`);
  if (p.users?.length) parts.push(p.users.map((u) => md.escape(u)).join(', '));
  if (p.groups?.length) parts.push(`group ${p.groups.map((g) => md.code(g)).join('/')}`);
  return parts.join(', ') || 'nobody';
}

function when(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function statusWord(r: ApprovalRequest): string {
  return r.status === 'approved' || r.status === 'executing' ? 'approved' : r.status;
}

function statusLine(r: ApprovalRequest, decider: string | null): string {
  const at = r.decidedAt ? ` at ${when(r.decidedAt)}` : '';
  switch (r.status) {
    case 'pending':
      return `Pending: needs ${quorumText(r.quorum)}; one deny closes it. Policy: ${md.escape(r.policySource)}.`;
    case 'approved':
    case 'executing':
      return `Approved by ${md.escape(decider ?? 'policy')}${at}: carrying it out${r.error ? ` (retrying after: ${md.escape(r.error)})` : ''}.`;
    case 'done':
      return `Approved by ${md.escape(decider ?? 'policy')}${at}. Done: ${String(r.result?.message ?? '')}`;
    case 'failed':
      return `Approved by ${md.escape(decider ?? 'policy')}${at}, but it failed: ${md.escape(r.error ?? 'unknown error')}`;
    case 'denied':
      return `Denied by ${md.escape(decider ?? 'an approver')}${at}.`;
    case 'expired':
      return `Expired${at} without a decision.`;
    case 'cancelled':
      return `Cancelled by ${md.escape(decider ?? 'the requester')}${at}.`;
  }
}
