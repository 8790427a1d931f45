/**
 * The second half of an approved invite: the Admin API cannot attach workspaces to an invite, so the
 * `member.invite` executor records `workspacesPending: true` and this job (`invites.watch`) finishes the
 * request once the invitee has accepted, i.e. once they are an org member: it adds the approved workspace
 * memberships (each add first reads the current members, so a re-run changes nothing), records what it did
 * in the request's result, tells the requester and refreshes the card. An invite that expired or was deleted
 * before being accepted closes the request's pending part, and the requester is told.
 */
import { describeAdminApiError } from '../admin-errors.js';
import { md, reply } from '../command/reply.js';
import { AdminApiError, type Invite, type OrgUser } from '../ports/admin-api.js';
import type { ApprovalRequest } from '../ports/store.js';
import type { Services } from '../services.js';

interface PendingWorkspace {
  workspaceId: string;
  name: string;
  role: string;
}

/** How many recent done invite requests are looked at per run (invites expire after 21 days). */
const SCAN_LIMIT = 1000;
const TEMPORARY = new Set(['rate_limited', 'unavailable', 'timeout', 'network', 'conflict']);

/** Completes the invites whose invitee has accepted; returns how many requests it finished. */
export async function watchInvites(s: Services): Promise<number> {
  const waiting = (
    await s.store.approvals.list({ statuses: ['done'], kinds: ['member.invite'], limit: SCAN_LIMIT })
  ).filter((r) => r.kind === 'member.invite' && r.result?.workspacesPending === true);
  if (waiting.length === 0) return 0;
  let invites: Invite[] | null = null;
  let n = 0;
  for (const r of waiting) {
    const email = String(r.payload.email ?? '');
    const user = (await s.admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (user) {
      if (await addMemberships(s, r, user)) n++;
      continue;
    }
    invites ??= await s.admin.listInvites();
    const mine = invites.filter((i) => i.email.toLowerCase() === email.toLowerCase());
    if (mine.length === 0 || mine.some((i) => i.status === 'pending' || i.status === 'accepted')) continue;
    // Every invite for this address expired or was deleted before anyone accepted it.
    const note = `The invite was not accepted (${mine.map((i) => i.status).join(', ')}), so no workspaces were added.`;
    const updated = await s.store.approvals.updateResult(r.id, (cur) =>
      cur?.workspacesPending === true
        ? { ...cur, workspacesPending: false, workspacesNote: note, message: `${String(cur.message ?? '')} ${note}` }
        : null,
    );
    if (!updated) continue;
    n++;
    await audit(s, updated, 'failed', 'INVITE_NOT_ACCEPTED', note);
    await finish(s, updated, `Your request ${updated.id} (${md.escape(updated.summary)}): ${note}`);
  }
  return n;
}

/** Adds the memberships, then records them; false when a temporary failure leaves it for the next run. */
async function addMemberships(s: Services, r: ApprovalRequest, user: OrgUser): Promise<boolean> {
  const wanted = (r.payload.workspaces as PendingWorkspace[] | undefined) ?? [];
  const done: string[] = [];
  const problems: string[] = [];
  for (const w of wanted) {
    const where = `${md.escape(w.name)} (${md.code(w.role)})`;
    try {
      const current = (await s.admin.listWorkspaceMembers(w.workspaceId)).find((m) => m.userId === user.id);
      if (current?.workspaceRole === w.role) done.push(where);
      else if (current) {
        // Someone gave them a role there already: leave that decision alone.
        problems.push(
          `${md.escape(w.name)}: already ${md.code(current.workspaceRole)}, left as it is (approved: ${md.code(w.role)})`,
        );
      } else {
        await s.admin.addWorkspaceMember(w.workspaceId, user.id, w.role);
        done.push(where);
      }
      await s.directory
        .replaceWorkspaceMembers(w.workspaceId, await s.admin.listWorkspaceMembers(w.workspaceId))
        .catch(() => undefined);
    } catch (err) {
      if (err instanceof AdminApiError && TEMPORARY.has(err.kind)) {
        s.logger.warn({ err, request: r.id, workspace: w.workspaceId }, 'invite follow-up: will retry');
        return false;
      }
      const why = err instanceof AdminApiError ? describeAdminApiError(err) : 'something went wrong';
      s.logger.warn({ err, request: r.id, workspace: w.workspaceId }, 'invite follow-up: could not add membership');
      problems.push(`${md.escape(w.name)}: ${why}`);
    }
  }
  const added = done.length ? `added to ${done.join(', ')}` : 'added to no workspace';
  const note = `${md.escape(user.email)} accepted the invite and was ${added}.${problems.length ? ` Not done: ${problems.join('; ')}.` : ''}`;
  const updated = await s.store.approvals.updateResult(r.id, (cur) =>
    cur?.workspacesPending === true
      ? {
          ...cur,
          workspacesPending: false,
          userId: user.id,
          workspacesAdded: done.length,
          workspacesNote: note,
          message: `${String(cur.message ?? '')} ${note}`,
        }
      : null,
  );
  if (!updated) return false;
  await audit(s, updated, problems.length ? 'failed' : 'allowed', problems.length ? 'UPSTREAM_FAILED' : null, note);
  await finish(s, updated, `Your request ${updated.id}: ${note}`);
  return true;
}

async function finish(s: Services, r: ApprovalRequest, text: string): Promise<void> {
  const card = await s.approvals.card(r);
  for (const ref of await s.store.approvals.cards(r.id)) {
    await s.notifiers[ref.platform]
      ?.update(ref.teamId, { channelId: ref.channelId, messageId: ref.messageId }, card)
      .catch((err) => s.logger.warn({ err, request: r.id }, 'card update failed'));
  }
  await s.notifiers[r.requester.platform]
    ?.dm(r.requester.teamId, r.requester.userId, reply({ text }))
    .catch((err) => s.logger.warn({ err, request: r.id }, 'could not message the requester'));
}

async function audit(
  s: Services,
  r: ApprovalRequest,
  outcome: 'allowed' | 'failed',
  code: string | null,
  message: string,
) {
  await s.store.audit.append({
    platform: 'system',
    teamId: null,
    actorId: 'invites',
    orgUserId: r.decidedBy,
    actorEmail: null,
    action: 'complete member.invite',
    options: { request: r.id, email: r.payload.email, workspaces: r.payload.workspaces },
    outcome,
    stage: 'run',
    errorCode: code,
    message,
    durationMs: 0,
  });
}
