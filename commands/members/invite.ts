import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { seesAllMembers } from '../../src/core/identity/visibility.js';
import type { Invite, Workspace } from '../../src/core/ports/admin-api.js';
import type { Services } from '../../src/core/services.js';
import { checkWorkspaceRole, findWorkspace, suggestions, WORKSPACE_ROLE_CHOICES } from '../targets.js';

const ASSIGNABLE = ['user', 'claude_code_user', 'developer', 'billing'] as const;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const FORM = `${md.code('name:role')} pairs separated by commas, e.g. ${md.code('prod:workspace_developer,staging:workspace_user')}`;

export default defineCommand({
  path: ['members', 'invite'],
  description: 'Request an invite to the Anthropic organization, optionally with workspace memberships',
  access: 'member',
  options: z.object({
    email: z.string().min(3).max(254).describe('Email address of the person to invite'),
    role: z.enum([...ASSIGNABLE, 'admin']).describe('Their org role (admin cannot be invited through the API)'),
    workspaces: z
      .string()
      .max(500)
      .optional()
      .describe('Workspaces to add them to once they accept: prod:workspace_developer,staging:workspace_user'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['email', 'role'],
  examples: [
    'members invite new.person@example.com developer',
    'members invite new.person@example.com developer workspaces:prod:workspace_developer,staging:workspace_user',
  ],
  async handler({ options, caller, services, invocation }) {
    const email = options.email.trim();
    if (!EMAIL_RE.test(email)) throw new DomainError('INVALID_INPUT', `${md.code(email)} is not an email address.`);
    if (options.role === 'admin') {
      throw new DomainError(
        'INVALID_INPUT',
        'The Anthropic Admin API cannot invite anyone as an admin. Invite them with another role and have an admin promote them in the Console (Settings → Members), or invite them from the Console directly.',
      );
    }
    const workspaces = options.workspaces ? await parseWorkspaces(services, options.workspaces, options.role) : [];

    // Whether the address is already a member, or already invited, is for those who may list members; for
    // anyone else the request is filed either way (the approvers see the organization, and the executor sends
    // no second invite), so the answer says nothing about who is in the organization.
    const pending = seesAllMembers(caller) ? await alreadyThere(services, email, options.role) : undefined;

    const into = workspaces.length
      ? `, then add them to ${workspaces.map((w) => `${w.name} as ${w.role}`).join(', ')}`
      : '';
    const summary = `Invite ${email} as ${options.role}${into}${pending ? ' (an invite is already pending)' : ''}`;
    return services.approvals.submit({
      caller,
      kind: 'member.invite',
      workspace: null,
      payload: { email, role: options.role, workspaces, requesterSeesMembers: seesAllMembers(caller) },
      reason: options.reason ?? null,
      summary,
      channelId: invocation.channelId,
    });
  },
});

/** Refuses an address that is already a member, or invited with another role; returns a pending invite. */
async function alreadyThere(services: Services, email: string, role: string): Promise<Invite | undefined> {
  await services.directory.ensureFresh();
  const member =
    (await services.store.directory.findUserByEmail(email)) ??
    (await services.admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
  if (member) {
    throw new DomainError(
      'CONFLICT',
      `${md.escape(member.email)} is already a member of the organization (${md.code(member.role)}). To change their role use ${md.code('/qm members role')}; for workspaces, ${md.code('/qm workspaces add-member')}.`,
    );
  }
  const pending = (await services.admin.listInvites()).find(
    (i) => i.email.toLowerCase() === email.toLowerCase() && i.status === 'pending',
  );
  if (pending && pending.role !== role) {
    throw new DomainError(
      'CONFLICT',
      `An invite for ${md.escape(email)} is already pending as ${md.code(pending.role)}; the API cannot change an invite's role. An admin can delete it in the Console first.`,
    );
  }
  return pending;
}

/** `prod:workspace_developer,staging:workspace_user` → resolved workspaces with a checked role each. */
async function parseWorkspaces(
  s: Services,
  text: string,
  orgRole: string,
): Promise<{ workspaceId: string; name: string; role: string }[]> {
  const items = text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) throw new DomainError('INVALID_INPUT', `\`workspaces\`: give ${FORM}.`);
  const out: { workspaceId: string; name: string; role: string }[] = [];
  const seen = new Map<string, Workspace>();
  for (const item of items) {
    const m = /^(.+?)\s*[:=]\s*([a-z_]+)$/i.exec(item);
    if (!m) {
      throw new DomainError(
        'INVALID_INPUT',
        `\`workspaces\`: ${md.code(item)} has no role. Give ${FORM}; roles: ${WORKSPACE_ROLE_CHOICES.filter(
          (r) => r !== 'workspace_billing',
        )
          .map((r) => md.code(r))
          .join(', ')}.`,
      );
    }
    const [, name, rawRole] = m as unknown as [string, string, string];
    const role = rawRole.toLowerCase();
    if (!(WORKSPACE_ROLE_CHOICES as readonly string[]).includes(role)) {
      const near = suggestions(role, WORKSPACE_ROLE_CHOICES);
      throw new DomainError(
        'INVALID_INPUT',
        `\`workspaces\`: ${md.code(rawRole)} (for ${md.escape(name)}) is not a workspace role.${near.length ? ` Did you mean ${md.code(near[0]!)}?` : ''} Roles: ${WORKSPACE_ROLE_CHOICES.filter(
          (r) => r !== 'workspace_billing',
        )
          .map((r) => md.code(r))
          .join(', ')}.`,
      );
    }
    const ws = await findWorkspace(
      s,
      name,
      '`workspaces`: the Admin API does not manage the members of the Default workspace. Name other workspaces.',
    );
    if (seen.has(ws.id)) {
      throw new DomainError('INVALID_INPUT', `\`workspaces\`: ${md.escape(ws.name)} is named twice.`);
    }
    seen.set(ws.id, ws);
    checkWorkspaceRole({ email: 'the invitee', role: orgRole }, role, ws.name);
    out.push({ workspaceId: ws.id, name: ws.name, role });
  }
  return out;
}
