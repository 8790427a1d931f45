/**
 * What each kind of request does once approved. Executors must be idempotent: the outbox guarantees each
 * approved request runs to completion, possibly more than once after a crash, so every executor first reads
 * the current state and does nothing when the change is already there.
 */
import { md } from '../command/reply.js';
import { keyRequest, keyRotate } from './key-requests.js';
import type { ExecutionResult, KindDefinition } from './kind.js';

export type { ExecutionResult, KindDefinition };

const str = (p: Record<string, unknown>, k: string): string => String(p[k] ?? '');

export const memberRole: KindDefinition = {
  kind: 'member.role',
  async execute(r, s) {
    const userId = str(r.payload, 'userId');
    const role = str(r.payload, 'role');
    const durationMs = Number(r.payload.durationMs ?? 0);
    const current = await s.admin.getUser(userId);
    let message: string;
    if (current.role === role) message = `${md.escape(current.email)} already had the ${md.code(role)} role.`;
    else {
      await s.admin.updateUserRole(userId, role);
      message = `${md.escape(current.email)} is now ${md.code(role)} (was ${md.code(current.role)}).`;
    }
    await s.directory.sync().catch(() => undefined);
    // Revert to the role the member had when the change was made (not when it was asked for: someone may have
    // changed it in between); on a re-run after a crash the role is already changed, so fall back to the request.
    const revertTo = current.role !== role ? current.role : str(r.payload, 'fromRole') || current.role;
    if (durationMs > 0) {
      const existing = await s.store.grants.forRequest(r.id);
      if (existing.length === 0) {
        const now = s.clock.now();
        await s.store.grants.create({
          id: `${r.id}-role`,
          requestId: r.id,
          kind: 'role_elevation',
          orgUserId: userId,
          workspaceId: null,
          previousRole: revertTo,
          grantedRole: role,
          grantedAt: now,
          expiresAt: new Date(now.getTime() + durationMs),
          status: 'active',
          boundKeyId: null,
          revokedAt: null,
          note: null,
        });
      }
      message += ` It will be reverted to ${md.code(revertTo)} at ${new Date(s.clock.now().getTime() + durationMs).toISOString().slice(0, 16).replace('T', ' ')} UTC.`;
    }
    return { message };
  },
};

export const memberInvite: KindDefinition = {
  kind: 'member.invite',
  async execute(r, s) {
    const email = str(r.payload, 'email');
    const role = str(r.payload, 'role');
    const existingMember = (await s.admin.listUsers({ email })).find(
      (u) => u.email.toLowerCase() === email.toLowerCase(),
    );
    // A requester who may not list members is not told that someone is one (nor their role): the audit log is.
    if (existingMember) {
      const already = `${md.escape(email)} is already a member of the organization; no invite sent.`;
      return r.payload.requesterSeesMembers === false
        ? {
            message: 'No new invite was needed; nothing was sent.',
            auditDetail: already,
            data: { userId: existingMember.id },
          }
        : { message: already, data: { userId: existingMember.id } };
    }
    const pending = (await s.admin.listInvites()).find(
      (i) => i.email.toLowerCase() === email.toLowerCase() && i.status === 'pending',
    );
    const invite = pending ?? (await s.admin.createInvite({ email, role }));
    const workspaces =
      (r.payload.workspaces as { workspaceId: string; name: string; role: string }[] | undefined) ?? [];
    const then = workspaces.length
      ? ` Once accepted, they will be added to ${workspaces.map((w) => `${md.escape(w.name)} (${md.code(w.role)})`).join(', ')}.`
      : '';
    const exact = `${pending ? 'An invite was already pending for' : 'Invited'} ${md.escape(email)} as ${md.code(invite.role)} (expires ${invite.expiresAt?.slice(0, 10) ?? 'in 21 days'}).${then}`;
    const data = { inviteId: invite.id, workspacesPending: workspaces.length > 0 };
    // Nor is such a requester told that someone had been invited already (or with which role): the same sentence
    // either way, and the exact one goes to the audit log.
    return r.payload.requesterSeesMembers === false
      ? {
          message: `${md.escape(email)} has an invite to the organization; Anthropic emails them a link to accept it.${then}`,
          auditDetail: exact,
          data,
        }
      : { message: exact, data };
  },
};

export const workspaceAddMember: KindDefinition = {
  kind: 'workspace.add_member',
  async execute(r, s) {
    const workspaceId = r.workspaceId!;
    const userId = str(r.payload, 'userId');
    const role = str(r.payload, 'role');
    const members = await s.admin.listWorkspaceMembers(workspaceId);
    const current = members.find((m) => m.userId === userId);
    if (current?.workspaceRole === role)
      return {
        message: `${md.escape(str(r.payload, 'email'))} already had ${md.code(role)} in ${md.escape(r.workspaceName ?? workspaceId)}.`,
      };
    if (current) await s.admin.updateWorkspaceMember(workspaceId, userId, role);
    else await s.admin.addWorkspaceMember(workspaceId, userId, role);
    await s.directory.replaceWorkspaceMembers(workspaceId, await s.admin.listWorkspaceMembers(workspaceId));
    return {
      message: `${md.escape(str(r.payload, 'email'))} is now ${md.code(role)} in ${md.escape(r.workspaceName ?? workspaceId)}.`,
    };
  },
};

export const workspaceRemoveMember: KindDefinition = {
  kind: 'workspace.remove_member',
  async execute(r, s) {
    const workspaceId = r.workspaceId!;
    const userId = str(r.payload, 'userId');
    const members = await s.admin.listWorkspaceMembers(workspaceId);
    if (!members.some((m) => m.userId === userId))
      return {
        message: `${md.escape(str(r.payload, 'email'))} was not a member of ${md.escape(r.workspaceName ?? workspaceId)}.`,
      };
    await s.admin.removeWorkspaceMember(workspaceId, userId);
    await s.directory.replaceWorkspaceMembers(workspaceId, await s.admin.listWorkspaceMembers(workspaceId));
    return {
      message: `${md.escape(str(r.payload, 'email'))} was removed from ${md.escape(r.workspaceName ?? workspaceId)}.`,
    };
  },
};

export const workspaceCreate: KindDefinition = {
  kind: 'workspace.create',
  async execute(r, s) {
    const name = str(r.payload, 'name');
    const existing = (await s.admin.listWorkspaces()).find((w) => w.name === name);
    const ws = existing ?? (await s.admin.createWorkspace({ name }));
    await s.directory.upsertWorkspaces([ws]);
    return {
      message: `${existing ? 'Workspace already existed' : 'Created workspace'} ${md.bold(ws.name)} (${md.code(ws.id)}).`,
      data: { workspaceId: ws.id },
    };
  },
};

export const workspaceArchive: KindDefinition = {
  kind: 'workspace.archive',
  async execute(r, s) {
    const workspaceId = r.workspaceId!;
    const current = await s.admin.getWorkspace(workspaceId);
    const going = current.archivedAt
      ? 0
      : (await s.admin.listApiKeys({ workspaceId })).filter((k) => k.status !== 'archived').length;
    const ws = current.archivedAt ? current : await s.admin.archiveWorkspace(workspaceId);
    await s.directory.upsertWorkspaces([ws]);
    const counted = `${going} API key${going === 1 ? ' was' : 's were'} archived with it.`;
    // The count only to a requester who could see those keys; otherwise to the audit log alone.
    return r.payload.requesterSeesKeys === false
      ? {
          message: `Workspace ${md.bold(ws.name)} is archived; its API keys are archived with it.`,
          auditDetail: counted,
        }
      : { message: `Workspace ${md.bold(ws.name)} is archived; ${counted}` };
  },
};

const keyStatusKind = (kind: string, status: 'active' | 'inactive' | 'archived', verb: string): KindDefinition => ({
  kind,
  async execute(r, s) {
    const keyId = str(r.payload, 'keyId');
    const key = await s.admin.getApiKey(keyId);
    if (key.status === status) return { message: `Key ${md.bold(key.name)} was already ${status}.` };
    const updated = await s.admin.updateApiKey(keyId, { status });
    await s.directory.upsertApiKeys([updated]);
    return { message: `Key ${md.bold(updated.name)} ${md.code(updated.partialKeyHint ?? keyId)} is ${verb}.` };
  },
});

export const keyDisable = keyStatusKind('key.disable', 'inactive', 'disabled (inactive)');
export const keyEnable = keyStatusKind('key.enable', 'active', 'active again');
export const keyArchive = keyStatusKind('key.archive', 'archived', 'archived');

export const keyRename: KindDefinition = {
  kind: 'key.rename',
  async execute(r, s) {
    const keyId = str(r.payload, 'keyId');
    const name = str(r.payload, 'name');
    const key = await s.admin.getApiKey(keyId);
    if (key.name === name) return { message: `Key ${md.bold(name)} already had that name.` };
    const updated = await s.admin.updateApiKey(keyId, { name });
    await s.directory.upsertApiKeys([updated]);
    return { message: `Key ${md.bold(key.name)} is now called ${md.bold(updated.name)}.` };
  },
};

export const BUILT_IN_KINDS: readonly KindDefinition[] = [
  memberRole,
  memberInvite,
  workspaceAddMember,
  workspaceRemoveMember,
  workspaceCreate,
  workspaceArchive,
  keyDisable,
  keyEnable,
  keyArchive,
  keyRename,
  keyRequest,
  keyRotate,
];
