/** Resolving what a request names (a member, a workspace, a key) into API objects, with specific errors. */
import { md } from '../command/reply.js';
import { DomainError } from '../errors.js';
import type { ApiKey, OrgUser, Workspace } from '../ports/admin-api.js';
import type { Services } from '../services.js';

/** An org member by email, or by a chat mention of a linked account (`<@U…>` / a Discord user id). */
export async function resolveMember(
  s: Services,
  who: string,
  where: { platform: 'slack' | 'discord'; teamId: string },
): Promise<OrgUser> {
  const mention =
    /^<@!?([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(who.trim())?.[1] ??
    (/^([UW][A-Z0-9]{2,}|\d{15,21})$/.test(who.trim()) ? who.trim() : null);
  if (mention) {
    const link = await s.store.links.find(where.platform, where.teamId, mention);
    if (!link)
      throw new DomainError(
        'NOT_FOUND',
        `${md.mention(mention)} is not linked to an org member; name them by email instead.`,
      );
    const user = await s.store.directory.getUser(link.orgUserId);
    if (!user) throw new DomainError('NOT_FOUND', `${md.mention(mention)} is no longer an org member.`);
    return user;
  }
  await s.directory.ensureFresh();
  const user =
    (await s.store.directory.findUserByEmail(who)) ??
    (await s.admin.listUsers({ email: who })).find((u) => u.email.toLowerCase() === who.trim().toLowerCase());
  if (!user) throw new DomainError('NOT_FOUND', `No org member has the email ${md.code(who)}.`);
  return user;
}

export async function resolveWorkspace(s: Services, name: string): Promise<Workspace> {
  await s.directory.ensureFresh();
  const all = await s.store.directory.listWorkspaces();
  const ws = all.find((w) => w.id === name || w.name.toLowerCase() === name.trim().toLowerCase());
  if (!ws) {
    const names = all.filter((w) => !w.archivedAt).map((w) => md.code(w.name));
    throw new DomainError(
      'NOT_FOUND',
      `There is no workspace called ${md.code(name)}. Workspaces: ${names.map((n) => md.code(n)).join(', ') || 'none'}.`,
    );
  }
  if (ws.archivedAt) throw new DomainError('CONFLICT', `Workspace ${md.code(ws.name)} is archived.`);
  return ws;
}

/** A key by id (`apikey_…`) or by exact name (must be unambiguous). */
export async function resolveKey(s: Services, ref: string): Promise<ApiKey> {
  const keys = await s.admin.listApiKeys();
  await s.store.directory.upsertApiKeys(keys);
  const byId = keys.find((k) => k.id === ref.trim());
  if (byId) return byId;
  const byName = keys.filter((k) => k.name.toLowerCase() === ref.trim().toLowerCase());
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new DomainError(
      'CONFLICT',
      `${byName.length} keys are called ${md.code(ref)}; use the key id: ${byName.map((k) => md.code(k.id)).join(', ')}.`,
    );
  }
  throw new DomainError('NOT_FOUND', `No API key has the id or name ${md.code(ref)}. See ${md.code('/qm keys list')}.`);
}
