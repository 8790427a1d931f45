/**
 * Key requests, fulfilled by a just-in-time grant (DESIGN.md, "What the Anthropic API allows"): the Admin API
 * cannot create keys, so an approved request makes the requester `workspace_developer` in the target workspace
 * for a short window, tells them to create the key in the Console (only they ever see the secret), and the
 * jobs here watch the key list until a key created by them appears in that workspace, bind it to the request
 * and take the temporary role back. Unused grants expire and are revoked too; a rotation's old key is set
 * inactive once the new key has been bound for a grace period.
 *
 * A requester who already can create keys there (org admin, `workspace_developer` or `workspace_admin`) gets a
 * *skipped* grant: it is recorded like any other (so the watch binds their key) with `previousRole` equal to
 * `grantedRole` and the note SKIPPED_NOTE, and taking it back changes nothing.
 *
 * Safe when several replicas run the jobs at once: every grant moves on only through the conditional
 * `store.grants.transition` (exactly one caller wins), and a rotated key is retired under a per-key lease.
 * A failed revocation puts the grant back so the next run tries again.
 */
import { md, reply } from '../command/reply.js';
import { DomainError } from '../errors.js';
import { AdminApiError, type ApiKey } from '../ports/admin-api.js';
import type { AccessGrant, ApprovalRequest, KeyBinding } from '../ports/store.js';
import type { Services } from '../services.js';
import type { ExecutionResult, KindDefinition } from './kind.js';
import { formatDuration, type RequestKind } from './policy.js';

/** How long a rotated key keeps working after its replacement is bound, so deployments can switch over. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
/** Keys created up to this long before the grant still count (our clock and the API's may differ a little). */
export const KEY_CLOCK_SKEW_MS = 2 * 60_000;
/** How long one replica owns the retirement of one rotated key before another may try again. */
const RETIRE_CLAIM_MS = 10 * 60_000;
/** The role a just-in-time grant gives. */
export const JIT_ROLE = 'workspace_developer';
/** Workspace roles that can already create keys: no grant needed. */
const CAN_CREATE_KEYS = new Set(['workspace_developer', 'workspace_admin']);
const ORG_ADMINS = new Set(['admin', 'owner', 'primary_owner']);
export const SKIPPED_NOTE = 'skipped: the requester could already create keys there; nothing to take back';

const str = (p: Record<string, unknown>, k: string): string => String(p[k] ?? '');
const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const grantIdFor = (requestId: string) => `${requestId}-jit`;
export const isSkipped = (g: AccessGrant) => g.previousRole === g.grantedRole;

/** The request's expiry in the words of the Console's "Expiration" choices (3 hours, 1 day, 7 days, 30 days, custom, never). */
export function consoleExpiry(expiresMs: number | null, from: Date): string {
  if (!expiresMs) return 'Never';
  const named: Record<number, string> = {
    [3 * 3_600_000]: '3 hours',
    [1 * 86_400_000]: '1 day',
    [7 * 86_400_000]: '7 days',
    [30 * 86_400_000]: '30 days',
  };
  return (
    named[expiresMs] ??
    `custom, no later than ${new Date(from.getTime() + expiresMs).toISOString().slice(0, 10)} (${formatDuration(expiresMs)})`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The executor

function keyRequestKind(kind: RequestKind): KindDefinition {
  return { kind, execute: (r, s) => grantJustInTime(r, s) };
}

/**
 * The JIT grant. Idempotent and crash-safe: the grant row (id `<request>-jit`, holding the role the requester
 * had *before*) is written first, the role change second; a re-run finds the grant and only completes the role
 * change if it is missing, so the role is added once and there is never a second grant.
 */
async function grantJustInTime(r: ApprovalRequest, s: Services): Promise<ExecutionResult> {
  const userId = str(r.payload, 'userId');
  const workspaceId = r.workspaceId ?? str(r.payload, 'workspaceId');
  const wsName = r.workspaceName ?? str(r.payload, 'workspaceName');
  const keyName = str(r.payload, 'keyName');
  const expiresMs = r.payload.expiresMs == null ? null : Number(r.payload.expiresMs);
  const window = s.policy.resolve(r.kind as RequestKind, wsName).grantWindowMs;

  let grant = await s.store.grants.get(grantIdFor(r.id));
  if (grant && grant.status !== 'active') {
    return {
      message: `The access window of this request is already closed (${grant.status}${grant.boundKeyId ? `, key ${md.code(grant.boundKeyId)}` : ''}).`,
    };
  }
  let members = await s.admin.listWorkspaceMembers(workspaceId);
  if (!grant) {
    const user = await s.admin.getUser(userId);
    const current = members.find((m) => m.userId === userId)?.workspaceRole ?? null;
    const orgAdmin = ORG_ADMINS.has(user.role);
    if (!orgAdmin && user.role === 'billing' && !CAN_CREATE_KEYS.has(current ?? '')) {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.escape(user.email)} is an org ${md.code('billing')} member: they inherit ${md.code('workspace_billing')} in every workspace and the Admin API cannot make them ${md.code(JIT_ROLE)}. An org admin can create the key in the Console instead.`,
      );
    }
    const already = orgAdmin ? (current ?? 'workspace_admin') : CAN_CREATE_KEYS.has(current ?? '') ? current : null;
    const now = s.clock.now();
    const draft: AccessGrant = {
      id: grantIdFor(r.id),
      requestId: r.id,
      kind: 'jit_key',
      orgUserId: userId,
      workspaceId,
      previousRole: already ?? current,
      grantedRole: already ?? JIT_ROLE,
      grantedAt: now,
      expiresAt: new Date(now.getTime() + window),
      status: 'active',
      boundKeyId: null,
      revokedAt: null,
      note: already ? SKIPPED_NOTE : null,
    };
    grant = await s.store.grants.create(draft).catch(async (err) => {
      // Another runner (a takeover after a lost lease) wrote it first: use theirs.
      const theirs = await s.store.grants.get(draft.id);
      if (!theirs) throw err;
      return theirs;
    });
  }

  if (!isSkipped(grant)) {
    const current = members.find((m) => m.userId === userId)?.workspaceRole ?? null;
    if (!CAN_CREATE_KEYS.has(current ?? '')) {
      if (current) await s.admin.updateWorkspaceMember(workspaceId, userId, JIT_ROLE);
      else await s.admin.addWorkspaceMember(workspaceId, userId, JIT_ROLE);
      members = await s.admin.listWorkspaceMembers(workspaceId);
    }
    await s.directory.replaceWorkspaceMembers(workspaceId, members);
  }

  const who = md.escape(r.requester.email);
  const steps = `Open the Anthropic Console → Settings → API keys → Create key, choose workspace ${md.bold(wsName)}, name it ${md.bold(keyName)}, expiry ${md.bold(consoleExpiry(expiresMs, grant.grantedAt))}`;
  const windowText = formatDuration(grant.expiresAt.getTime() - grant.grantedAt.getTime());
  const message = isSkipped(grant)
    ? `${who} can already create keys in ${md.escape(wsName)} (${md.code(grant.grantedRole)}), so no temporary role was needed. ${steps}; Quartermaster is watching for it until ${when(grant.expiresAt)} (${windowText}) and will bind it to this request.`
    : `${who} is ${md.code(JIT_ROLE)} in ${md.escape(wsName)} for now (was ${grant.previousRole ? md.code(grant.previousRole) : 'not a member'}). ${steps}; Quartermaster is watching and will take the temporary role back once the key exists (or in ${windowText}, at ${when(grant.expiresAt)}).`;
  return {
    message,
    data: { grantId: grant.id, grantExpiresAt: grant.expiresAt.toISOString(), skipped: isSkipped(grant) },
  };
}

export const keyRequest = keyRequestKind('key.request');
export const keyRotate = keyRequestKind('key.rotate');

// ---------------------------------------------------------------------------------------------------------------
// Watching for the key

/** `grants.watch-keys`: binds every key that appeared for an active JIT grant. Returns how many were bound. */
export async function watchJitKeys(s: Services): Promise<number> {
  let n = 0;
  for (const g of await s.store.grants.list(['active'])) {
    if (g.kind !== 'jit_key') continue;
    try {
      if (await tryBind(s, g)) n++;
    } catch (err) {
      s.logger.warn({ err, grant: g.id }, 'watching for a requested key failed; will try again');
    }
  }
  return n;
}

/**
 * Every key created under this grant that is not bound to another request: created by the grantee in the
 * workspace since the grant. The one named as requested (else the oldest) comes first.
 */
async function keysCreatedUnder(s: Services, g: AccessGrant, r: ApprovalRequest): Promise<ApiKey[]> {
  if (!g.workspaceId) return [];
  const since = g.grantedAt.getTime() - KEY_CLOCK_SKEW_MS;
  const keys = (await s.admin.listApiKeys({ workspaceId: g.workspaceId, createdByUserId: g.orgUserId })).filter(
    (k) =>
      k.workspaceId === g.workspaceId &&
      k.createdBy?.id === g.orgUserId &&
      k.createdAt !== null &&
      Date.parse(k.createdAt) >= since &&
      k.status !== 'archived',
  );
  const free: ApiKey[] = [];
  for (const k of keys) {
    const bound = await s.store.keyBindings.get(k.id);
    if (!bound || bound.requestId === r.id) free.push(k);
  }
  free.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  const wanted = str(r.payload, 'keyName').toLowerCase();
  const named = free.findIndex((k) => k.name.toLowerCase() === wanted);
  if (named > 0) free.unshift(...free.splice(named, 1));
  return free;
}

/** Binds one key to the request (idempotent: an existing binding is kept). */
async function bindKey(
  s: Services,
  g: AccessGrant,
  r: ApprovalRequest,
  key: ApiKey,
  now: Date,
  primary: boolean,
): Promise<KeyBinding> {
  return (
    (await s.store.keyBindings.get(key.id)) ??
    (await s.store.keyBindings.create({
      keyId: key.id,
      requestId: r.id,
      ownerOrgId: g.orgUserId,
      approverOrgId: r.decidedBy,
      workspaceId: g.workspaceId,
      boundAt: now,
      expiresAt: bindingExpiry(key, r, now),
      // Only the requested key replaces the rotated one.
      replacesKeyId: primary ? ((r.payload.replacesKeyId as string | null | undefined) ?? null) : null,
      replacedAt: null,
    }))
  );
}

/**
 * Binds the grant's keys once one exists: active → bound (exactly one runner gets past this), every key the
 * grantee created in the window bound with the approved lifetime (a grant is for one key, but nothing stops
 * the grantee from making several while they hold the role: none escapes the approval), role taken back, keys
 * made while it was being taken back bound too, request result and cards updated, requester told. Returns true
 * when this call bound keys.
 */
async function tryBind(s: Services, g: AccessGrant): Promise<boolean> {
  const r = await s.store.approvals.get(g.requestId);
  if (!r) return false;
  if (r.status === 'failed') {
    // The executor gave up (and told the requester): close the grant and undo whatever it managed to do.
    if (await s.store.grants.transition(g.id, 'active', 'failed', { revokedAt: s.clock.now() })) {
      await takeBack(s, g).catch(async (err) => {
        await s.store.grants.transition(g.id, 'failed', 'active', { revokedAt: null });
        throw err;
      });
    }
    return false;
  }
  if (r.status !== 'done') return false; // still being carried out
  const found = await keysCreatedUnder(s, g, r);
  const key = found[0];
  if (!key) return false;
  if (!(await s.store.grants.transition(g.id, 'active', 'bound', { boundKeyId: key.id }))) return false;
  const now = s.clock.now();
  let binding: KeyBinding;
  let revoked: string;
  const keys = [...found];
  try {
    binding = await bindKey(s, g, r, key, now, true);
    for (const other of found.slice(1)) await bindKey(s, g, r, other, now, false);
    revoked = await takeBack(s, g);
    // A key made while the role was being taken back was still made in the window.
    for (const late of await keysCreatedUnder(s, g, r)) {
      if (keys.some((k) => k.id === late.id)) continue;
      await bindKey(s, g, r, late, now, false);
      keys.push(late);
    }
  } catch (err) {
    // Put the grant back: the next run finds the same keys (bound to this request) and finishes the job.
    await s.store.grants.transition(g.id, 'bound', 'active', { boundKeyId: null });
    throw err;
  }
  await s.directory.upsertApiKeys(keys);

  const hint = (k: ApiKey) => (k.partialKeyHint ? ` ${md.code(k.partialKeyHint)}` : '');
  const wanted = str(r.payload, 'keyName');
  const renamed = key.name === wanted ? '' : ` (named ${md.bold(key.name)} rather than ${md.bold(wanted)})`;
  const retire = binding.replacesKeyId
    ? ` The old key ${md.code(str(r.payload, 'replacesKeyName') || binding.replacesKeyId)} will be set inactive at ${when(new Date(binding.boundAt.getTime() + ROTATION_GRACE_MS))} (after ${formatDuration(ROTATION_GRACE_MS)}).`
    : '';
  const extra = keys.slice(1);
  const also = extra.length
    ? ` ${extra.length === 1 ? 'Another key' : `${extra.length} more keys`} created in the window ${extra.length === 1 ? 'is' : 'are'} bound too, with the same owner, approver and lifetime: ${extra.map((k) => `${md.bold(k.name)}${hint(k)}`).join(', ')}.`
    : '';
  const short = `Key ${md.bold(key.name)}${hint(key)} bound; ${isSkipped(g) ? 'no temporary role to remove' : 'temporary role removed'}.${also}${retire}`;
  await updateResult(s, r, short, { boundKeyId: key.id, boundKeyIds: keys.map((k) => k.id) });
  const approver = r.decidedBy ? ((await s.store.directory.getUser(r.decidedBy))?.email ?? r.decidedBy) : 'policy';
  await tell(
    s,
    r,
    `Key ${md.bold(key.name)}${hint(key)}${renamed} is bound to request ${r.id}: owner ${md.escape(r.requester.email)}, approved by ${md.escape(approver)}, ${binding.expiresAt ? `expires ${binding.expiresAt.toISOString().slice(0, 10)}` : 'no expiry'}.${also} ${revoked}${retire}`,
  );
  await audit(
    s,
    g,
    'bind key.request',
    { request: r.id, keyId: key.id, keyIds: keys.map((k) => k.id) },
    `${short} ${revoked}`,
  );
  return true;
}

/** What the binding records as the key's expiry: the requested one, or the key's own when that is sooner. */
function bindingExpiry(key: ApiKey, r: ApprovalRequest, now: Date): Date | null {
  const ms = r.payload.expiresMs == null ? null : Number(r.payload.expiresMs);
  const base = key.createdAt ? Date.parse(key.createdAt) : now.getTime();
  const requested = ms ? base + ms : null;
  const own = key.expiresAt ? Date.parse(key.expiresAt) : null;
  const soonest = [requested, own].filter((x): x is number => x !== null);
  return soonest.length ? new Date(Math.min(...soonest)) : null;
}

/**
 * Takes the temporary role back: removes the member when they were not one before, restores the previous role
 * otherwise, does nothing for a skipped grant or when someone changed the role since. Returns a sentence for
 * the requester.
 */
async function takeBack(s: Services, g: AccessGrant): Promise<string> {
  if (isSkipped(g) || !g.workspaceId) return 'You already had access there, so no role was taken back.';
  const ws = g.workspaceId;
  const current = (await s.admin.listWorkspaceMembers(ws)).find((m) => m.userId === g.orgUserId)?.workspaceRole;
  let text: string;
  if (current !== g.grantedRole) {
    text = `Your role in the workspace had already been changed to ${current ? md.code(current) : 'none'} since, so it was left as it is.`;
  } else if (g.previousRole === null) {
    await s.admin.removeWorkspaceMember(ws, g.orgUserId).catch((err) => {
      if (!(err instanceof AdminApiError && err.kind === 'not_found')) throw err;
    });
    text = `The temporary ${md.code(g.grantedRole)} role was removed (you were not a member of the workspace before).`;
  } else {
    await s.admin.updateWorkspaceMember(ws, g.orgUserId, g.previousRole);
    text = `The temporary ${md.code(g.grantedRole)} role was removed; you are ${md.code(g.previousRole)} there again.`;
  }
  await s.directory.replaceWorkspaceMembers(ws, await s.admin.listWorkspaceMembers(ws));
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Expiry of unused grants

/** `grants.expire-jit`: closes JIT grants past their window (after a last look for the key). */
export async function expireJitGrants(s: Services): Promise<number> {
  let n = 0;
  const now = s.clock.now();
  for (const g of await s.store.grants.list(['active'])) {
    if (g.kind !== 'jit_key' || g.expiresAt > now) continue;
    try {
      // A key made in the last seconds of the window still counts.
      if (await tryBind(s, g)) continue;
      if (!(await s.store.grants.transition(g.id, 'active', 'expired', { revokedAt: now }))) continue;
      let revoked: string;
      try {
        revoked = await takeBack(s, g);
      } catch (err) {
        await s.store.grants.transition(g.id, 'expired', 'active', { revokedAt: null });
        throw err;
      }
      n++;
      const r = await s.store.approvals.get(g.requestId);
      if (!r) continue;
      const keyName = str(r.payload, 'keyName');
      if (r.status === 'done')
        await updateResult(s, r, `The window to create key ${md.bold(keyName)} closed; no key was created.`, {});
      await tell(
        s,
        r,
        `The window to create key ${md.bold(keyName)} in ${md.escape(r.workspaceName ?? '')} (request ${r.id}) closed at ${when(g.expiresAt)} and no key created by you appeared, so nothing was bound. ${revoked} Ask again with ${md.code('/qm keys request')} if you still need it.`,
      );
      await audit(s, g, 'expire key.request', { request: r.id }, `grant expired unused; ${revoked}`);
    } catch (err) {
      s.logger.warn({ err, grant: g.id }, 'closing an expired key grant failed; will try again');
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Rotation

/** `keys.retire-rotated`: sets the old key of a rotation inactive once its replacement has been bound for the grace period. */
export async function retireRotatedKeys(s: Services): Promise<number> {
  let n = 0;
  const now = s.clock.now();
  for (const b of await s.store.keyBindings.list()) {
    if (!b.replacesKeyId || b.replacedAt || b.boundAt.getTime() + ROTATION_GRACE_MS > now.getTime()) continue;
    // One replica per key: the lease is the conditional claim (a crashed holder's claim simply expires).
    const claim = `key.retire:${b.keyId}`;
    const holder = `${now.getTime()}-${Math.random().toString(36).slice(2)}`;
    if (!(await s.store.leases.acquire(claim, holder, new Date(now.getTime() + RETIRE_CLAIM_MS), now))) continue;
    try {
      const fresh = await s.store.keyBindings.get(b.keyId);
      if (!fresh || fresh.replacedAt) continue;
      const old = await s.admin.getApiKey(b.replacesKeyId).catch((err) => {
        if (err instanceof AdminApiError && err.kind === 'not_found') return null;
        throw err;
      });
      let text: string;
      if (!old) text = `The old key ${md.code(b.replacesKeyId)} no longer exists.`;
      else if (old.status === 'active') {
        const updated = await s.admin.updateApiKey(old.id, { status: 'inactive' });
        await s.directory.upsertApiKeys([updated]);
        text = `The old key ${md.bold(old.name)}${old.partialKeyHint ? ` ${md.code(old.partialKeyHint)}` : ''} is now inactive.`;
      } else text = `The old key ${md.bold(old.name)} was already ${md.code(old.status)}.`;
      await s.store.keyBindings.markReplaced(b.keyId, now);
      n++;
      const r = await s.store.approvals.get(b.requestId);
      if (r) {
        await tell(
          s,
          r,
          `Rotation of request ${r.id} is complete: ${text} Its replacement ${md.code(b.keyId)} has been in use for ${formatDuration(ROTATION_GRACE_MS)}. (If something still needs the old key, an approver can re-enable it.)`,
        );
      }
      await s.store.audit.append({
        platform: 'system',
        teamId: null,
        actorId: 'grants',
        orgUserId: b.ownerOrgId,
        actorEmail: null,
        action: 'retire key.rotate',
        options: { request: b.requestId, keyId: b.replacesKeyId, replacement: b.keyId },
        outcome: 'allowed',
        stage: 'run',
        errorCode: null,
        message: text,
        durationMs: 0,
      });
    } catch (err) {
      s.logger.warn({ err, key: b.replacesKeyId }, 'retiring a rotated key failed; will try again');
      await s.store.leases.release(claim, holder);
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Replaces the request's result message (the card's "Done:" line) and edits every posted card. */
async function updateResult(
  s: Services,
  r: ApprovalRequest,
  message: string,
  extra: Record<string, unknown>,
): Promise<void> {
  // A compare-and-set on the result: the request is already done, and its execution claim is long released.
  const updated = await s.store.approvals.updateResult(r.id, (cur) => ({ ...(cur ?? {}), ...extra, message }));
  if (!updated) return;
  const card = await s.approvals.card(updated);
  for (const ref of await s.store.approvals.cards(r.id)) {
    await s.notifiers[ref.platform]
      ?.update(ref.teamId, { channelId: ref.channelId, messageId: ref.messageId }, card)
      .catch((err) => s.logger.warn({ err, request: r.id }, 'card update failed'));
  }
}

/**
 * Enforces the expiry a key request was approved with: once a bound key's expiry passes, the key is set inactive
 * (an approver can re-enable it through `/qm keys enable`). The Console lets people pick a longer lifetime than
 * was approved; this is what makes the approved one hold. Once per key, whatever the number of replicas.
 */
export async function enforceBoundKeyExpiry(s: Services): Promise<number> {
  const now = s.clock.now();
  let n = 0;
  for (const b of await s.store.keyBindings.list()) {
    if (!b.expiresAt || b.expiresAt > now || b.expiryEnforcedAt) continue;
    if (!(await s.store.keyBindings.claimExpiry(b.keyId, now))) continue;
    let text: string;
    try {
      const key = await s.admin.getApiKey(b.keyId).catch((err) => {
        if (err instanceof AdminApiError && err.kind === 'not_found') return null;
        throw err;
      });
      if (!key) text = `The key ${md.code(b.keyId)} bound to this request no longer exists.`;
      else if (key.status === 'active') {
        const updated = await s.admin.updateApiKey(key.id, { status: 'inactive' });
        await s.directory.upsertApiKeys([updated]);
        text = `The key ${md.bold(key.name)}${key.partialKeyHint ? ` ${md.code(key.partialKeyHint)}` : ''} reached the expiry it was approved with and is now inactive. Ask for a new key with ${md.code('/qm keys request')} if you still need one.`;
      } else text = `The key ${md.bold(key.name)} reached its approved expiry; it was already ${md.code(key.status)}.`;
    } catch (err) {
      // Release the claim so the next run tries again; the failure is in the log.
      await s.store.keyBindings.claimExpiry(b.keyId, null);
      s.logger.warn({ err, key: b.keyId }, 'could not enforce the expiry of a bound key; will retry');
      continue;
    }
    n++;
    const r = await s.store.approvals.get(b.requestId);
    if (r) await tell(s, r, text);
    await s.store.audit.append({
      platform: 'system',
      teamId: null,
      actorId: 'grants',
      orgUserId: b.ownerOrgId,
      actorEmail: null,
      action: 'expire key.request',
      options: { request: b.requestId, keyId: b.keyId },
      outcome: 'allowed',
      stage: 'run',
      errorCode: null,
      message: text,
      durationMs: 0,
    });
  }
  return n;
}

async function tell(s: Services, r: ApprovalRequest, text: string): Promise<void> {
  await s.notifiers[r.requester.platform]
    ?.dm(r.requester.teamId, r.requester.userId, reply({ text }))
    .catch((err) => s.logger.warn({ err, request: r.id }, 'could not message the requester'));
}

async function audit(
  s: Services,
  g: AccessGrant,
  action: string,
  options: Record<string, unknown>,
  message: string,
): Promise<void> {
  await s.store.audit.append({
    platform: 'system',
    teamId: null,
    actorId: 'grants',
    orgUserId: g.orgUserId,
    actorEmail: null,
    action,
    options,
    outcome: 'allowed',
    stage: 'run',
    errorCode: null,
    message,
    durationMs: 0,
  });
}
