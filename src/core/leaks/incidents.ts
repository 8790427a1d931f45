/**
 * The leak incident flow (issue 11), shared by chat scanning (Slack, Discord) and the intake webhooks (GitHub
 * secret scanning, gitleaks, trufflehog). A secret is held in memory only as long as it takes to fingerprint it
 * (HMAC-SHA256 under the server secret `leak-fingerprint`, through the Hasher port: the core has no crypto SDK of
 * its own) and to take its hint; it is never stored, logged or repeated.
 *
 * reportSecret: fingerprint → resolve the key among the synced keys by its partial_key_hint (refresh the directory
 * once when nothing matches; an admin key or an OAuth token is never one of the organization's API keys) → record
 * the sighting (one incident per fingerprint; a sighting with a known sourceKey is a duplicate and changes nothing)
 * → for a new incident post the alert card (the policy's `leaks.channels` for the connected platforms, else the
 * channel where it was seen, for chat sources) with Deactivate / Archive / False positive; with
 * `leaks.auto_deactivate` set the key inactive at once and say so on the card; for a joined incident update its
 * card (sightings count and the latest place).
 *
 * The buttons (an approver's one-click response, checked live against the `key.disable` / `key.archive`
 * approvers): **Deactivate** and **Archive** file an approved request through ApprovalEngine.respond and, with a
 * quorum of 1, move the incident to `deactivated` / `archived` at once (the request is carried out from the
 * outbox; the card is re-rendered once it ran, showing the key's live status). With a larger quorum the alert card
 * becomes the request's card (the other approvers vote there, and it shows the outcome); the incident stays open
 * until closed with `/qm incidents close`. **False positive** (a `key.disable` approver) closes the incident as
 * `false_positive` and takes the buttons away.
 *
 * reportChatMessage: scans a message's text (findSecrets), reports each secret, deletes the message where the
 * platform lets the bot (hooks.deleteMessage), and tells the poster privately what happened and how to delete it.
 */

import { describeAdminApiError } from '../admin-errors.js';
import { postToTargets } from '../alerts.js';
import { ApprovalEngine } from '../approvals/engine.js';
import type { ActionContext, ActionDefinition, ActionResult } from '../command/actions.js';
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import type { DirectoryModel } from '../directory-model.js';
import { AdminApiError, type ApiKey, type Workspace } from '../ports/admin-api.js';
import type { IncidentStatus, LeakIncident, LeakIncidentInput, LeakSighting } from '../ports/leaks.js';
import type { Services } from '../services.js';
import { findSecrets, isTokenChar, keyHint, type SecretKind, secretAt } from './detect.js';

export const LEAKS_DEACTIVATE = 'leaks.deactivate';
export const LEAKS_ARCHIVE = 'leaks.archive';
export const LEAKS_FALSE_POSITIVE = 'leaks.false-positive';

/** The server secret leak fingerprints are keyed with. */
export const FINGERPRINT_SECRET = 'leak-fingerprint';

/**
 * The fingerprint prefix of an incident opened from a GitHub alert, which carries no secret (./intake.ts): the key
 * is unknown, not "no key of this organization".
 */
export const GITHUB_ALERT_FINGERPRINT = 'github-alert:';

/** How long a joining sighting leaves the alert card to the sighting that opened the incident (it may be posting). */
const CARD_GRACE_MS = 60_000;
/** How long a Deactivate / Archive card follows its request's retries before it stops waiting for the outcome. */
const FOLLOW_REQUEST_MS = 15 * 60_000;
/** The most secrets of one chat message that are reported (an incident and a card each); the rest are counted. */
export const MAX_SECRETS_PER_MESSAGE = 25;
/** The longest excerpt shown on a card. */
const EXCERPT_MAX = 240;

export interface SecretReport {
  /** The secret itself: fingerprinted and hinted here, then dropped. */
  secret: string;
  kind: SecretKind;
  sighting: Omit<LeakSighting, 'incidentId'>;
  /**
   * Text around the secret for people (its line), optional. Redacted here before it goes anywhere: every secret in
   * it is replaced by its hint and anything else that starts like one is cut to its prefix.
   */
  excerpt?: string | null;
  /** For a chat sighting: where it was seen (the alert goes there when the policy names no leak channel). */
  chat?: { platform: 'slack' | 'discord'; teamId: string; channelId: string } | null;
}

export interface ReportOutcome {
  incident: LeakIncident;
  created: boolean;
  duplicate: boolean;
}

/** Hex HMAC-SHA256 of the secret under the server secret (the incident's identity; never reversible). */
export async function fingerprintOf(s: Services, secret: string): Promise<string> {
  return s.hasher.hmacSha256Hex(await s.store.leaks.serverSecret(FINGERPRINT_SECRET), secret);
}

// ---- redaction

/**
 * The text with every secret replaced by its hint, and every other token that starts with `sk-ant-` (a near miss,
 * a key cut short) cut to `sk-ant-…`: what may be shown of a text that held a secret.
 */
export function redact(text: string): string {
  // The secrets first, by their own spans (a wrapped key's second line, an emphasised key), then any other token
  // that starts with the prefix.
  let out = '';
  let i = 0;
  for (const f of findSecrets(text)) {
    out += cutPrefixed(text.slice(i, f.index)) + f.hint;
    i = f.index + f.length;
  }
  return out + cutPrefixed(text.slice(i));
}

/** Every token from `sk-ant-` on cut to `sk-ant-…` (it holds no whole secret, but may hold part of one). */
function cutPrefixed(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = text.indexOf('sk-ant-', i);
    if (at === -1) return out + text.slice(i);
    let end = at + 'sk-ant-'.length;
    while (end < text.length && isTokenChar(text.charCodeAt(end))) end++;
    // The token the prefix belongs to may start earlier (`xsk-ant-…`): cut from the prefix on anyway.
    out += `${text.slice(i, at)}sk-ant-…`;
    i = end;
  }
}

/**
 * A run of key characters (and `%`, for URL-encoding) this long is shown cut: on the line of a key the detector
 * took there may be another it does not take (URL-encoded, split by a space, a look-alike prefix), and the card
 * must not show most of it. A hint (`sk-ant-api03-R2D...igAA`) has no run this long.
 */
const OPAQUE_RUN = /[A-Za-z0-9_%-]{24,}/g;

function excerptOf(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const one = redact(raw)
    .replace(OPAQUE_RUN, (run) => `${run.slice(0, 4)}…`)
    .replace(/\s+/g, ' ')
    .trim();
  if (!one) return null;
  return one.length > EXCERPT_MAX ? `${one.slice(0, EXCERPT_MAX - 1)}…` : one;
}

// ---- key resolution

interface Resolution {
  key: ApiKey | null;
  /** Why nothing matched, for the card. */
  why: string | null;
}

const KIND_LABEL: Record<SecretKind, string> = {
  anthropic_api_key: 'Anthropic API key',
  anthropic_admin_key: 'Anthropic Admin API key',
  anthropic_oauth_token: 'Claude OAuth token',
};

const NO_KEY_WHY: Record<SecretKind, string> = {
  anthropic_api_key:
    'no key of this organization has this hint: it may belong to another organization, or the key was deleted',
  anthropic_admin_key:
    'an Admin API key (sk-ant-admin01-) is never one of the organization’s API keys: no key of this organization matches; revoke it in the Console (Settings → Admin keys)',
  anthropic_oauth_token:
    'a Claude OAuth token belongs to a person’s Claude login, not to an API key: no key of this organization matches; its owner should sign out everywhere to revoke it',
};

function byHint(d: DirectoryModel, hint: string): ApiKey | null {
  const matches = d.listApiKeys().filter((k) => k.partialKeyHint === hint);
  // Several keys with one hint (7 random characters: very unlikely): the live one first.
  return matches.find((k) => k.status === 'active') ?? matches[0] ?? null;
}

/** The last directory refresh a leaked key's miss made, per directory (./resolveKey). */
const leakRefreshes = new WeakMap<object, { at: number; promise: Promise<void> }[]>();
const REFRESH_WINDOW_MS = 60_000;
const REFRESH_BURST = 3;

async function resolveKey(s: Services, kind: SecretKind, hint: string): Promise<Resolution> {
  if (kind !== 'anthropic_api_key') return { key: null, why: NO_KEY_WHY[kind] };
  const found = byHint(await s.directory.read(), hint);
  if (found) return { key: found, why: null };
  // A key made since the last sync: refresh once and look again. At most REFRESH_BURST refreshes a minute (later
  // misses wait for the last one): anyone in a channel can post any number of made-up keys, and each would
  // otherwise list the whole directory from the Admin API.
  const now = s.clock.now().getTime();
  const recent = (leakRefreshes.get(s.directory) ?? []).filter((r) => now - r.at < REFRESH_WINDOW_MS);
  let refresh = recent.at(-1)?.promise;
  if (recent.length < REFRESH_BURST) {
    refresh = s.directory.sync().then(
      () => undefined,
      (err) => s.logger.warn({ err, hint }, 'directory refresh for a leaked key failed'),
    );
    recent.push({ at: now, promise: refresh });
  }
  leakRefreshes.set(s.directory, recent);
  await refresh;
  const again = byHint(await s.directory.read(), hint);
  return again ? { key: again, why: null } : { key: null, why: NO_KEY_WHY[kind] };
}

// ---- reportSecret

export async function reportSecret(s: Services, r: SecretReport): Promise<ReportOutcome> {
  const leaks = s.store.leaks;
  const fingerprint = await fingerprintOf(s, r.secret);
  const hint = keyHint(r.secret);
  const log = s.logger.child({ leak: hint, source: r.sighting.source });
  // Resolve the key only for a new fingerprint (a known incident keeps what it was opened with).
  let input: LeakIncidentInput;
  const known = await leaks.findByFingerprint(fingerprint);
  if (known) {
    input = {
      fingerprint,
      hint,
      kind: r.kind,
      apiKeyId: known.apiKeyId,
      apiKeyName: known.apiKeyName,
      workspaceId: known.workspaceId,
    };
  } else {
    const { key } = await resolveKey(s, r.kind, hint);
    input = {
      fingerprint,
      hint,
      kind: r.kind,
      apiKeyId: key?.id ?? null,
      apiKeyName: key?.name ?? null,
      workspaceId: key?.workspaceId ?? null,
    };
  }
  const recorded = await leaks.recordSighting(input, r.sighting);
  if (recorded.duplicate) {
    log.info({ incident: recorded.incident.id }, 'leak sighting already recorded: nothing changed');
    return recorded;
  }
  let incident = recorded.incident;
  const excerpt = excerptOf(r.excerpt);

  if (recorded.created) {
    log.warn({ incident: incident.id, apiKey: incident.apiKeyId }, 'leaked secret: incident opened');
    if (incident.apiKeyId) {
      // Is it the key itself, or a string rebuilt from the key's public hint (which anyone who can list keys sees)?
      // Only the first is ever deactivated automatically; approvers see the verdict either way.
      const verdict = (await s.secretVerifier?.verify(r.secret).catch(() => 'unknown' as const)) ?? 'unknown';
      verdicts.set(incident.id, verdict);
      if (s.policy.leakAutoDeactivate && verdict !== 'invalid') incident = await autoDeactivate(s, incident);
    }
    const posted = await postCard(s, incident, r, excerpt);
    if (posted) {
      // Sightings that joined while the card was being posted: show their count.
      const now = await leaks.get(incident.id);
      if (now && now.sightingCount !== incident.sightingCount) await refreshCard(s, now.id, { excerpt });
    }
    return { ...recorded, incident: (await leaks.get(incident.id)) ?? incident };
  }

  log.warn({ incident: incident.id, sightings: incident.sightingCount }, 'leaked secret seen again');
  if (incident.card) await refreshCard(s, incident.id, { excerpt });
  else if (s.clock.now().getTime() - incident.firstSeenAt.getTime() >= CARD_GRACE_MS) {
    // No card yet (no channel took it before): this sighting posts it.
    await postCard(s, incident, r, excerpt);
  }
  return { ...recorded, incident: (await leaks.get(incident.id)) ?? incident };
}

async function autoDeactivate(s: Services, incident: LeakIncident): Promise<LeakIncident> {
  const log = s.logger.child({ incident: incident.id });
  try {
    const key = await s.admin.getApiKey(incident.apiKeyId!);
    const updated = key.status === 'active' ? await s.admin.updateApiKey(key.id, { status: 'inactive' }) : key;
    await s.directory.upsertApiKeys([updated]);
    const moved = await s.store.leaks.transition(incident.id, ['open'], 'deactivated', {
      at: s.clock.now(),
      by: 'policy',
      reason: 'leaks.auto_deactivate',
      autoDeactivated: true,
    });
    log.warn({ apiKey: key.id, status: updated.status }, 'leaked key set inactive by policy (leaks.auto_deactivate)');
    return moved ?? incident;
  } catch (err) {
    log.error({ err, apiKey: incident.apiKeyId }, 'auto-deactivating a leaked key failed');
    autoFailures.set(incident.id, err instanceof AdminApiError ? describeAdminApiError(err) : 'unexpected error');
    return incident;
  }
}

/** Why an auto-deactivation failed, for the card (this process only; the log has it too). */
const autoFailures = new Map<string, string>();

/** What the API said of each new incident's secret (this process only: the card shows it while it is open). */
const verdicts = new Map<string, 'valid' | 'invalid' | 'unknown'>();

const VERDICT_TEXT = {
  valid: '✅ Checked with the API: this secret is a working key.',
  invalid:
    '⚠️ Checked with the API: this secret does **not** work. It may be a revoked key, or a fake built from the key’s public hint; it was not deactivated automatically.',
  unknown: null,
} as const;

// ---- where the card goes

interface Target {
  platform: 'slack' | 'discord';
  teamId: string;
  channelId: string;
}

async function cardTargets(s: Services, r: Pick<SecretReport, 'chat'>): Promise<Target[]> {
  const connected = (['slack', 'discord'] as const).filter((p) => s.notifiers[p]);
  const channels = s.policy.leakChannels;
  const fromPolicy = connected.filter((p) => channels[p]);
  if (fromPolicy.length) {
    // A policy channel has no team: the sighting's own (chat), else that of a budget or digest subscription on the
    // platform, else '' (a single-workspace Slack install and Discord ignore it).
    const [budgets, subscriptions] = await Promise.all([s.store.limits.listBudgets(), s.store.digests.list()]);
    const teamOf = (p: 'slack' | 'discord') =>
      r.chat?.platform === p
        ? r.chat.teamId
        : ([...budgets, ...subscriptions].find((x) => x.platform === p)?.teamId ?? '');
    return fromPolicy.map((p) => ({ platform: p, teamId: teamOf(p), channelId: channels[p]! }));
  }
  if (r.chat && s.notifiers[r.chat.platform]) return [r.chat];
  return [];
}

/**
 * Posts a new incident's card: to the policy's `leaks.channels` (for the connected platforms), else, for a chat
 * sighting, where it was seen; the first post is stored as the incident's card. False when nothing was posted.
 */
export async function postCard(
  s: Services,
  incident: LeakIncident,
  r: Pick<SecretReport, 'chat'>,
  excerpt: string | null,
): Promise<boolean> {
  const log = s.logger.child({ incident: incident.id });
  const targets = await cardTargets(s, r);
  if (targets.length === 0) {
    log.warn({}, 'leaked secret found, but no channel to alert: set leaks.channels in the policy (quartermaster.yaml)');
    return false;
  }
  const card = await incidentCard(s, incident, { excerpt });
  const { first } = await postToTargets(s, targets, card, log, 'a leak alert');
  if (first) await s.store.leaks.setCard(incident.id, first);
  const stored = first !== null;
  return stored;
}

/** Re-renders the incident's card where it was posted (a new sighting, a click, `/qm incidents close`). */
export async function refreshCard(
  s: Services,
  incidentId: string,
  o: { excerpt?: string | null; note?: string } = {},
): Promise<void> {
  const incident = await s.store.leaks.get(incidentId);
  const ref = incident?.card;
  if (!incident || !ref) return;
  const notifier = s.notifiers[ref.platform];
  if (!notifier) return;
  try {
    await notifier.update(
      ref.teamId,
      { channelId: ref.channelId, messageId: ref.messageId },
      await incidentCard(s, incident, o),
    );
  } catch (err) {
    s.logger.warn({ err, incident: incidentId }, 'updating a leak alert card failed');
  }
}

// ---- the card

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A place for people: a chat channel as a live link, anything else escaped. */
export function placeText(location: string): string {
  const channel = /^<#([A-Z0-9]+|\d{15,21})>$/.exec(location);
  return channel ? md.channel(channel[1]!) : md.escape(location);
}

/** Who, for people: a chat user as a mention, anything else escaped. */
export function actorText(actor: string | null): string {
  if (!actor) return 'unknown';
  const chat = /^(slack|discord):(.+)$/.exec(actor);
  return chat ? md.mention(chat[2]!) : md.escape(actor);
}

const safeUrl = (url: string | null) => (url && /^https:\/\/[^\s()<>[\]`*]+$/.test(url) ? url : null);

export function statusText(i: LeakIncident, emailOf: (id: string) => string): string {
  const by = i.closedBy
    ? i.closedBy === 'policy'
      ? 'policy (leaks.auto_deactivate)'
      : md.escape(emailOf(i.closedBy))
    : '';
  const at = i.closedAt ? ` at ${when(i.closedAt)}` : '';
  switch (i.status) {
    case 'open':
      return 'Open: waiting for an approver';
    case 'deactivated':
      return i.autoDeactivated && i.closedBy === 'policy'
        ? `Key set inactive at once by policy (leaks.auto_deactivate)${at}`
        : `Key deactivated by ${by}${at}`;
    case 'archived':
      return `Key archived by ${by}${at}`;
    case 'false_positive':
      return `Marked a false positive by ${by}${at}`;
    case 'closed':
      return `Closed by ${by}${at}${i.closeReason ? `: ${md.escape(i.closeReason)}` : ''}`;
  }
}

/** The incident in one line (escaped markup): the card's headline, and the `alert` on a request's card. */
export function headline(i: LeakIncident): string {
  const key = i.apiKeyId ? ` for key ${md.bold(i.apiKeyName ?? i.apiKeyId)}` : '';
  return `🚨 **Leaked ${KIND_LABEL[i.kind]}** ${md.code(i.hint)}${key} (incident ${md.code(i.id)})`;
}

async function liveKey(s: Services, id: string): Promise<{ key: ApiKey | null; error: string | null }> {
  try {
    return { key: await s.admin.getApiKey(id), error: null };
  } catch (err) {
    return { key: null, error: err instanceof AdminApiError ? describeAdminApiError(err) : 'unexpected error' };
  }
}

export async function incidentCard(
  s: Services,
  i: LeakIncident,
  o: { excerpt?: string | null; note?: string } = {},
): Promise<Reply> {
  const d = await s.directory.read();
  const emailOf = (id: string) => d.user(id)?.email ?? id;
  const sightings = await s.store.leaks.sightings(i.id);
  const latest = sightings.reduce<LeakSighting | null>((a, b) => (!a || b.seenAt >= a.seenAt ? b : a), null);
  const fields: { label: string; value: string }[] = [
    { label: 'What', value: `${KIND_LABEL[i.kind]} ${md.code(i.hint)}` },
  ];
  if (latest) {
    const url = safeUrl(latest.url);
    fields.push({ label: 'Who', value: actorText(latest.actor) });
    fields.push({ label: 'Where', value: `${placeText(latest.location)}${url ? ` ([link](${url}))` : ''}` });
  }
  let live: ApiKey | null = null;
  if (i.apiKeyId) {
    const k = await liveKey(s, i.apiKeyId);
    live = k.key;
    const known = k.key ?? d.apiKey(i.apiKeyId);
    const wsId = known ? known.workspaceId : i.workspaceId;
    const creator = known?.createdBy;
    const owner = !creator
      ? 'unknown'
      : creator.type === 'user'
        ? (d.user(creator.id)?.email ?? creator.id)
        : `${creator.type} ${creator.id}`;
    fields.push(
      { label: 'Key', value: `${md.bold(known?.name ?? i.apiKeyName ?? i.apiKeyId)} (${md.code(i.apiKeyId)})` },
      { label: 'Workspace', value: md.escape(wsId ? (d.workspace(wsId)?.name ?? wsId) : 'Default') },
      { label: 'Owner', value: md.escape(owner) },
      {
        label: 'Key status',
        value: k.key
          ? md.code(k.key.status)
          : `unknown now (${md.escape(k.error ?? '')}); last synced: ${md.code(d.apiKey(i.apiKeyId)?.status ?? 'unknown')}`,
      },
    );
  } else if (i.fingerprint.startsWith(GITHUB_ALERT_FINGERPRINT)) {
    fields.push({
      label: 'Key',
      value: `unknown: GitHub does not send the secret in its webhooks. Open the alert (the link above) to see the key, find it by its start and end with ${md.code('/qm keys list')}, disable it with ${md.code('/qm keys disable <name>')}, then close this incident`,
    });
  } else {
    fields.push({ label: 'Key', value: `no key of this organization: ${NO_KEY_WHY[i.kind]}` });
  }
  fields.push({
    label: 'Sightings',
    value: `${i.sightingCount} (first ${when(i.firstSeenAt)}, latest ${when(i.lastSeenAt)})`,
  });
  const blocks: ReplyBlock[] = [
    { type: 'text', text: headline(i) },
    { type: 'fields', fields },
  ];
  if (o.excerpt) blocks.push({ type: 'text', text: `Excerpt (redacted): ${md.code(o.excerpt)}` });
  const verdict = VERDICT_TEXT[verdicts.get(i.id) ?? 'unknown'];
  if (verdict && (i.status === 'open' || i.status === 'deactivated')) blocks.push({ type: 'text', text: verdict });
  const failed = autoFailures.get(i.id);
  if (failed && i.status === 'open')
    blocks.push({ type: 'text', text: `⚠️ Setting the key inactive by policy failed: ${md.escape(failed)}` });
  if (o.note) blocks.push({ type: 'text', text: o.note });
  blocks.push({ type: 'context', text: `Status: ${statusText(i, emailOf)}` });

  const buttons = [];
  const open = i.status === 'open';
  const liveStatus = live?.status ?? (i.apiKeyId ? d.apiKey(i.apiKeyId)?.status : null);
  if (i.apiKeyId && open && liveStatus !== 'inactive' && liveStatus !== 'archived')
    buttons.push({
      id: await s.store.actionTokens.create({ kind: LEAKS_DEACTIVATE, subjectId: i.id, choice: 'deactivate' }),
      label: 'Deactivate',
      style: 'danger' as const,
    });
  if (i.apiKeyId && (open || i.status === 'deactivated') && liveStatus !== 'archived')
    buttons.push({
      id: await s.store.actionTokens.create({ kind: LEAKS_ARCHIVE, subjectId: i.id, choice: 'archive' }),
      label: 'Archive',
    });
  if (open || i.status === 'deactivated')
    buttons.push({
      id: await s.store.actionTokens.create({ kind: LEAKS_FALSE_POSITIVE, subjectId: i.id, choice: 'false-positive' }),
      label: 'False positive',
    });
  if (buttons.length) blocks.push({ type: 'actions', buttons });
  blocks.push({
    type: 'context',
    text: `The secret itself is never stored or shown, only its hint.${i.status === 'closed' ? '' : ` ${md.code(`/qm incidents close ${i.id} "reason"`)} closes this incident.`}`,
  });
  return reply({
    visibility: 'in_channel',
    tone: open ? 'error' : 'warning',
    title: `Leaked ${KIND_LABEL[i.kind]}: incident ${i.id}`,
    blocks,
    summary: `Leaked ${KIND_LABEL[i.kind]} ${i.hint}${i.apiKeyName ? ` (key ${i.apiKeyName})` : ''}: incident ${i.id}, ${i.status}`,
  });
}

// ---- the buttons

const notice = (text: string) => reply({ tone: 'warning', text });

async function incidentFor(ctx: ActionContext): Promise<LeakIncident | ActionResult> {
  const i = await ctx.services.store.leaks.get(ctx.subjectId);
  if (i) return i;
  const text = 'This incident is no longer known to Quartermaster.';
  return { outcome: 'failed', errorCode: 'NOT_FOUND', message: text, notice: notice(text) };
}

const isResult = (x: LeakIncident | ActionResult): x is ActionResult => 'outcome' in x;

async function workspaceOf(s: Services, i: LeakIncident): Promise<Workspace | null> {
  if (!i.apiKeyId) return null;
  const d = await s.directory.read();
  const wsId = d.apiKey(i.apiKeyId)?.workspaceId ?? i.workspaceId;
  if (!wsId) return null;
  return d.workspace(wsId) ?? { id: wsId, name: wsId, createdAt: null, archivedAt: null, displayColor: null };
}

async function already(s: Services, i: LeakIncident): Promise<ActionResult> {
  const d = await s.directory.read();
  const text = `Incident ${i.id} is no longer open: ${statusText(i, (id) => d.user(id)?.email ?? id)}.`;
  return {
    outcome: 'failed',
    errorCode: 'CONFLICT',
    message: text,
    notice: notice(text),
    card: await incidentCard(s, i),
  };
}

function keyAction(kind: 'key.disable' | 'key.archive', to: IncidentStatus, from: readonly IncidentStatus[]) {
  const verb = kind === 'key.disable' ? 'Deactivate' : 'Archive';
  return async (ctx: ActionContext): Promise<ActionResult> => {
    const s = ctx.services;
    const engine = s.approvals;
    if (!(engine instanceof ApprovalEngine)) throw new Error(`${verb} needs the ApprovalEngine`);
    const found = await incidentFor(ctx);
    if (isResult(found)) return found;
    const i = found;
    if (!from.includes(i.status)) return already(s, i);
    if (!i.apiKeyId) {
      const text = `Incident ${i.id} matches no key of this organization: there is no key to ${verb.toLowerCase()}.`;
      return { outcome: 'failed', errorCode: 'NOT_FOUND', message: text, notice: notice(text) };
    }
    const workspace = await workspaceOf(s, i);
    const quorumOne = s.policy.resolve(kind, workspace?.name ?? null).quorum <= 1;
    const card = i.card && i.card.platform === ctx.platform ? i.card : null;
    const result = await engine.respond(ctx, {
      kind,
      workspace,
      payload: { keyId: i.apiKeyId, alert: headline(i) },
      reason: `leaked key (incident ${i.id})`,
      summary: `${verb} leaked key ${i.apiKeyName ?? i.apiKeyId} (incident ${i.id})`,
      // With a larger quorum the alert card becomes the request's card: the other approvers vote there.
      card: quorumOne ? null : card ? { channelId: card.channelId, messageId: card.messageId } : null,
    });
    const request = result.request;
    if (result.outcome !== 'allowed' || !request || request.status !== 'approved') return result;
    const moved = await s.store.leaks.transition(i.id, from, to, {
      at: s.clock.now(),
      by: request.requester.orgUserId,
      reason: `request ${request.id}`,
    });
    const now = moved ?? (await s.store.leaks.get(i.id)) ?? i;
    const note = `${verb} requested by ${md.escape(request.requester.email)}: request ${md.code(request.id)}, carried out now.`;
    return {
      ...result,
      card: await incidentCard(s, now, { note }),
      afterRender: () => {
        engine.kick();
        // Once it ran, the card shows the key's live status (or the failure, with the request's outcome). A first
        // attempt that failed is retried from the outbox later: follow the request until it is done or failed, so
        // the card never keeps the status it had before (`active`).
        void (async () => {
          const started = Date.now();
          for (;;) {
            await engine.idle();
            const done = await s.store.approvals.get(request.id);
            const waiting = done?.status === 'approved' || done?.status === 'executing';
            if (!done || !waiting || Date.now() - started > FOLLOW_REQUEST_MS) {
              const outcome =
                done?.status === 'done'
                  ? `${verb} done (request ${md.code(request.id)}, by ${md.escape(request.requester.email)}).`
                  : done?.status === 'failed'
                    ? `⚠️ ${verb} failed (request ${md.code(request.id)}): see ${md.code('/qm requests list all')}.`
                    : note;
              await refreshCard(s, i.id, { note: outcome });
              return;
            }
            // A retry is scheduled (executeAfter), or another runner holds it: wait, then for the runner again.
            const wait = done.executeAfter ? done.executeAfter.getTime() - s.clock.now().getTime() : 0;
            await new Promise((r) => setTimeout(r, Math.min(60_000, Math.max(200, wait + 50))).unref());
          }
        })().catch((err) => s.logger.warn({ err, incident: i.id }, 'updating a leak alert card failed'));
      },
    };
  };
}

export const leaksDeactivateAction: ActionDefinition = {
  kind: LEAKS_DEACTIVATE,
  handler: keyAction('key.disable', 'deactivated', ['open']),
};

export const leaksArchiveAction: ActionDefinition = {
  kind: LEAKS_ARCHIVE,
  handler: keyAction('key.archive', 'archived', ['open', 'deactivated']),
};

export const leaksFalsePositiveAction: ActionDefinition = {
  kind: LEAKS_FALSE_POSITIVE,
  async handler(ctx) {
    const s = ctx.services;
    const engine = s.approvals;
    if (!(engine instanceof ApprovalEngine)) throw new Error('False positive needs the ApprovalEngine');
    const found = await incidentFor(ctx);
    if (isResult(found)) return found;
    const checked = await engine.checkApprover(ctx, 'key.disable', await workspaceOf(s, found));
    if ('refused' in checked) return checked.refused;
    const moved = await s.store.leaks.transition(found.id, ['open', 'deactivated'], 'false_positive', {
      at: s.clock.now(),
      by: checked.live.id,
      reason: 'false positive',
    });
    if (!moved) return already(s, (await s.store.leaks.get(found.id)) ?? found);
    s.logger.info({ incident: moved.id, by: checked.live.id }, 'leak incident marked a false positive');
    const note =
      found.status === 'deactivated'
        ? `The key stays inactive: ${md.code('/qm keys enable')} sets it active again.`
        : undefined;
    return {
      outcome: 'allowed',
      message: `incident ${moved.id} marked a false positive by ${checked.live.email}`,
      card: await incidentCard(s, moved, { note }),
    };
  },
};

export const LEAK_ACTIONS: readonly ActionDefinition[] = [
  leaksDeactivateAction,
  leaksArchiveAction,
  leaksFalsePositiveAction,
];

/** `/qm incidents close`: closes an incident with a reason and updates its card. */
export async function closeIncident(
  s: Services,
  id: string,
  by: { id: string; email: string },
  reason: string,
): Promise<LeakIncident | null> {
  const moved = await s.store.leaks.transition(id, ['open', 'deactivated', 'archived', 'false_positive'], 'closed', {
    at: s.clock.now(),
    by: by.id,
    reason,
  });
  if (moved) {
    s.logger.info({ incident: moved.id, by: by.id }, 'leak incident closed');
    await refreshCard(s, moved.id);
  }
  return moved;
}

// ---- chat messages

/** A chat message as an adapter saw it (new, edited, a thread reply, or a file snippet's text). */
export interface ChatMessageSeen {
  platform: 'slack' | 'discord';
  teamId: string;
  channelId: string;
  /** Slack ts, Discord message id. */
  messageId: string;
  /** The poster's chat user id (bots and the app itself are skipped by the adapter). */
  userId: string;
  /** All the text to scan: the message, its attachments' and blocks' text, a snippet's content. */
  text: string;
  /** A link to the message, when the platform gives one. */
  permalink: string | null;
  edited: boolean;
}

export interface ChatMessageHooks {
  /** Deletes the message (Discord with Manage Messages; Slack with SLACK_ADMIN_USER_TOKEN); false when it cannot. */
  deleteMessage?: () => Promise<boolean>;
}

/** The secrets in a text with where they are (UTF-16 offsets), from findSecrets' line and column. */
export function locateSecrets(text: string): { kind: SecretKind; secret: string; line: string }[] {
  return findSecrets(text).map((f) => {
    // The finding's own span (an emphasised key without its underscores, a wrapped key joined), and its line.
    const lineStart = text.lastIndexOf('\n', f.index - 1) + 1;
    const lineEnd = text.indexOf('\n', f.index + f.length);
    return {
      kind: f.kind,
      secret: secretAt(text, f),
      line: text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd),
    };
  });
}

const DELETE_HOWTO: Record<'slack' | 'discord', string> = {
  slack: 'hover over the message, open **More actions** (⋮) and choose **Delete message**',
  discord: 'hover over the message, open **More** (⋯) and choose **Delete Message**',
};

export async function reportChatMessage(
  s: Services,
  m: ChatMessageSeen,
  hooks: ChatMessageHooks = {},
): Promise<{ secrets: number; incidents: ReportOutcome[] }> {
  const found = locateSecrets(m.text);
  if (found.length === 0) return { secrets: 0, incidents: [] };
  const seenAt = s.clock.now();
  const incidents: ReportOutcome[] = [];
  const done = new Set<string>();
  let unreported = 0;
  for (const f of found) {
    const fingerprint = await fingerprintOf(s, f.secret);
    if (done.has(fingerprint)) continue;
    done.add(fingerprint);
    if (done.size > MAX_SECRETS_PER_MESSAGE) {
      // A dump of keys (or a flood of made-up ones, which anyone can post): the first ones are alerted, the rest
      // counted, so one message cannot fill the security channel with thousands of cards.
      unreported++;
      continue;
    }
    incidents.push(
      await reportSecret(s, {
        secret: f.secret,
        kind: f.kind,
        excerpt: f.line,
        chat: { platform: m.platform, teamId: m.teamId, channelId: m.channelId },
        sighting: {
          source: m.platform,
          // One sighting per message and secret (an edit that keeps the secret adds nothing).
          sourceKey: `${m.platform}:${m.teamId}:${m.channelId}:${m.messageId}:${fingerprint.slice(0, 16)}`,
          location: `<#${m.channelId}>`,
          url: m.permalink,
          actor: `${m.platform}:${m.userId}`,
          seenAt,
        },
      }),
    );
  }
  if (unreported) {
    s.logger.warn(
      { platform: m.platform, channel: m.channelId, reported: MAX_SECRETS_PER_MESSAGE, unreported },
      'a message held more secrets than are alerted one by one',
    );
  }
  const fresh = incidents.filter((o) => !o.duplicate);
  if (fresh.length === 0) return { secrets: found.length, incidents };

  let deleted = false;
  if (hooks.deleteMessage) {
    try {
      deleted = await hooks.deleteMessage();
    } catch (err) {
      s.logger.warn(
        { err, platform: m.platform, channel: m.channelId },
        'deleting a message with a leaked secret failed',
      );
    }
  }
  const what = fresh
    .map((o) => {
      const i = o.incident;
      const key = i.apiKeyName ? ` (key ${md.bold(i.apiKeyName)})` : '';
      const state =
        i.status === 'deactivated' && i.autoDeactivated
          ? ' It was set inactive at once.'
          : i.apiKeyId
            ? ' The approvers were alerted to deactivate it.'
            : '';
      return `• ${KIND_LABEL[i.kind]} ${md.code(i.hint)}${key}: incident ${md.code(i.id)}.${state}`;
    })
    .join('\n');
  const more = unreported
    ? `\n• and ${unreported} more secret${unreported === 1 ? '' : 's'}, not alerted one by one: treat every key in the message as leaked.`
    : '';
  const removal = deleted
    ? 'Quartermaster deleted the message.'
    : `Please delete the message now: ${DELETE_HOWTO[m.platform]}. Editing it is not enough (edits keep the history).`;
  const text = [
    `⚠️ Your message in ${md.channel(m.channelId)} contained a secret. Treat it as leaked: anyone who saw the message can use it.`,
    what + more,
    removal,
    `Never paste keys in chat; ask for a new key with ${md.code('/qm keys request')}.`,
  ].join('\n');
  await s.notifiers[m.platform]
    ?.dm(m.teamId, m.userId, reply({ tone: 'warning', title: 'A secret in your message', text }))
    .catch((err) => s.logger.warn({ err, platform: m.platform }, 'telling the poster about a leaked secret failed'));
  return { secrets: found.length, incidents };
}
