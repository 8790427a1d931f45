/**
 * Resolving what a request names (a member, a workspace, a key) into API objects, with specific errors.
 * Only what the caller may see is matched (src/core/identity/visibility.ts): anything else gets the answer
 * something that does not exist gets, so these errors never tell a caller what they may not list.
 */
import { md } from '../command/reply.js';
import { DomainError } from '../errors.js';
import type { Caller } from '../identity/caller.js';
import { roleNeededFor } from '../identity/permissions.js';
import { canSeeKey, seesAllKeys, seesAllMembers } from '../identity/visibility.js';
import type { ApiKey, OrgUser, Workspace } from '../ports/admin-api.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';

/**
 * An org member by email, or by a chat mention of a linked account (`<@U…>` / a Discord user id). A caller
 * who may not list members may name only themselves: anyone else gets one answer, member or not, and is
 * not even looked up.
 */
export async function resolveMember(
  s: Services,
  who: string,
  caller: Caller,
  where: { platform: Platform; teamId: string },
): Promise<OrgUser> {
  const mention =
    /^<@!?([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(who.trim())?.[1] ??
    (/^([UW][A-Z0-9]{2,}|\d{15,21})$/.test(who.trim()) ? who.trim() : null);
  if (!seesAllMembers(caller)) {
    const me = caller.orgUser;
    const self = mention ? mention === caller.userId : me?.email.toLowerCase() === who.trim().toLowerCase();
    if (!me || !self) throw new DomainError('NOT_FOUND', onlyYourself(caller));
    return (await s.directory.read()).user(me.id) ?? (await s.store.directory.getUser(me.id)) ?? me;
  }
  if (mention) {
    const link = await s.store.links.find(where.platform, where.teamId, mention);
    if (!link)
      throw new DomainError(
        'NOT_FOUND',
        `${md.mention(mention)} is not linked to an org member; name them by email instead.`,
      );
    const user = (await s.directory.read()).user(link.orgUserId) ?? (await s.store.directory.getUser(link.orgUserId));
    if (!user) throw new DomainError('NOT_FOUND', `${md.mention(mention)} is no longer an org member.`);
    return user;
  }
  const directory = await s.directory.read();
  const user =
    directory.userByEmail(who) ??
    (await s.store.directory.findUserByEmail(who)) ??
    (await s.admin.listUsers({ email: who })).find((u) => u.email.toLowerCase() === who.trim().toLowerCase());
  if (!user) throw new DomainError('NOT_FOUND', `No org member has the email ${md.code(who)}.`);
  return user;
}

export async function resolveWorkspace(s: Services, name: string): Promise<Workspace> {
  const all = (await s.directory.read()).listWorkspaces();
  const ws = all.find((w) => w.id === name || w.name.toLowerCase() === name.trim().toLowerCase());
  if (!ws) {
    const names = all.filter((w) => !w.archivedAt).map((w) => md.code(w.name));
    throw new DomainError(
      'NOT_FOUND',
      `There is no workspace called ${md.code(name)}. Workspaces: ${names.join(', ') || 'none'}.`,
    );
  }
  if (ws.archivedAt) throw new DomainError('CONFLICT', `Workspace ${md.code(ws.name)} is archived.`);
  return ws;
}

/** The answer to a caller who may not list members and names someone else (or no one). */
export function onlyYourself(caller: Caller): string {
  return `You can name only yourself here: org members are visible from the ${md.bold(roleNeededFor('members:read'))} org role up, and you are ${md.bold(caller.orgUser?.role ?? 'not linked')}.`;
}

/**
 * The keys the caller may see, from the synced directory (never a listing of every key from the Admin API: the
 * copy is at most the directory's max age old, and each change made through Quartermaster updates it at once).
 */
export async function visibleKeys(s: Services, caller: Caller): Promise<ApiKey[]> {
  return (await s.directory.forList()).listApiKeys().filter((k) => canSeeKey(caller, k));
}

/** "No API key has …", said so that it is the same for a key that exists but is not the caller's to see. */
export function noSuchKey(caller: Caller, ref: string): string {
  if (seesAllKeys(caller)) return `No API key has the id or name ${md.code(ref)}.`;
  return `No API key you can see has the id or name ${md.code(ref)} (you see the keys you created and the keys of workspaces where you are a developer or admin).`;
}

/**
 * A key the caller may see, by id (`apikey_…`) or by exact name (must be unambiguous among those), found in the
 * synced copy and then read live (one GET of that key, which also refreshes the copy), so its status is current.
 * An id the copy does not know yet (a key made in the Console since the last sync) is looked up the same way.
 */
export async function resolveKey(
  s: Services,
  ref: string,
  caller: Caller,
  /** The caller's visible keys when already at hand. */
  keys?: ApiKey[],
): Promise<ApiKey> {
  keys ??= await visibleKeys(s, caller);
  const id = ref.trim();
  const notFound = () => new DomainError('NOT_FOUND', `${noSuchKey(caller, ref)}${seeKeysList(caller)}`);
  const live = async (keyId: string) => {
    const key = await s.directory.refreshApiKey(keyId);
    if (!key || !canSeeKey(caller, key)) throw notFound();
    return key;
  };
  const byId = keys.find((k) => k.id === id);
  if (byId) return live(byId.id);
  if (/^apikey_[A-Za-z0-9]+$/.test(id) && !(await s.directory.forList()).apiKey(id)) {
    const key = await s.directory.refreshApiKey(id);
    if (key && canSeeKey(caller, key)) return key;
  }
  const byName = keys.filter((k) => k.name.toLowerCase() === id.toLowerCase());
  if (byName.length === 1) return live(byName[0]!.id);
  if (byName.length > 1) {
    throw new DomainError(
      'CONFLICT',
      `${byName.length} keys are called ${md.code(ref)}; use the key id: ${byName.map((k) => md.code(k.id)).join(', ')}.`,
    );
  }
  throw notFound();
}

export function seeKeysList(caller: Caller): string {
  return caller.permissions.has('keys:read') ? ` See ${md.code('/qm keys list')}.` : '';
}
