/**
 * Enforced budgets (issue 10 item 3): crossing 100 % sets every active key in scope inactive (never archived),
 * records exactly the keys that this changed, and the alert card carries **Re-enable** for approvers. A click is
 * an approver's one-click response (ApprovalEngine.respond, kind `limit.reenable`): the request is filed already
 * approved and carried out from the outbox by `limitReenable`, which sets exactly the recorded keys active again.
 * `reenable: next_period` budgets get their keys back at the period reset (see check.ts).
 */
import { describeAdminApiError } from '../admin-errors.js';
import { ApprovalEngine } from '../approvals/engine.js';
import type { KindDefinition } from '../approvals/kind.js';
import type { ActionDefinition } from '../command/actions.js';
import { md, type ReplyBlock, reply } from '../command/reply.js';
import { AdminApiError, type ApiKey, type Workspace } from '../ports/admin-api.js';
import type { Budget, BudgetEnforcement } from '../ports/limits.js';
import type { Services } from '../services.js';
import { formatUsd } from '../spend/money.js';

/** The action kind of the Re-enable button (stored with each button's token). */
export const LIMITS_REENABLE = 'limits.reenable';

/** A key as the card shows it: its name (escaped) and id. */
export const keyLabel = (k: { id: string; name: string | null }): string =>
  k.name ? `${md.bold(k.name)} (${md.code(k.id)})` : md.code(k.id);

/** How a budget's target reads in chat (escaped): "the organization", "workspace **Prod**", "key **ci**". */
export function budgetTarget(b: Pick<Budget, 'scope' | 'targetName' | 'targetId'>): string {
  if (b.scope === 'org') return 'the organization';
  return `${b.scope} ${md.bold(b.targetName || b.targetId)}`;
}

/** The same in plain text (summaries, notifications). */
export function budgetTargetPlain(b: Pick<Budget, 'scope' | 'targetName' | 'targetId'>): string {
  if (b.scope === 'org') return 'the organization';
  return `${b.scope} ${b.targetName || b.targetId}`;
}

const describeError = (err: unknown): string =>
  err instanceof AdminApiError ? describeAdminApiError(err) : err instanceof Error ? err.message : String(err);

/** The active keys a budget covers, read live from the Admin API. */
export async function activeKeysInScope(s: Services, budget: Budget): Promise<ApiKey[]> {
  switch (budget.scope) {
    case 'org':
      return s.admin.listApiKeys({ status: 'active' });
    case 'workspace':
      return s.admin.listApiKeys({ workspaceId: budget.targetId, status: 'active' });
    case 'key': {
      const key = await s.admin.getApiKey(budget.targetId).catch((err) => {
        if (err instanceof AdminApiError && err.kind === 'not_found') return null;
        throw err;
      });
      return key && key.status === 'active' ? [key] : [];
    }
  }
}

export interface EnforcementOutcome {
  enforcement: BudgetEnforcement;
  /** The keys set inactive (as the API returned them). */
  disabled: ApiKey[];
  /** Keys that could not be set inactive, and why. */
  failed: { key: ApiKey; reason: string }[];
  /** The Re-enable button's id (none when nothing was disabled). */
  buttonId: string | null;
}

/**
 * Enforces a budget in a period: null when its enforcement exists already (another run or replica made it).
 * The keys are listed first (a failure there leaves nothing behind, the next run tries again); the enforcement
 * row is created with them as the intent, then holds exactly the keys this set inactive.
 */
export async function enforceBudget(
  s: Services,
  budget: Budget,
  period: string,
  now: Date,
): Promise<EnforcementOutcome | null> {
  const keys = await activeKeysInScope(s, budget);
  const enforcement = await s.store.limits.createEnforcement(
    budget.id,
    period,
    keys.map((k) => k.id),
    now,
  );
  if (!enforcement) return null;
  const { disabled, failed } = await disableKeys(s, budget, keys);
  const ids = disabled.map((k) => k.id);
  await s.store.limits.setEnforcementKeys(enforcement.id, ids);
  if (disabled.length) await s.directory.upsertApiKeys(disabled);
  const buttonId = disabled.length
    ? await s.store.actionTokens.create({ kind: LIMITS_REENABLE, subjectId: enforcement.id, choice: 'reenable' })
    : null;
  s.logger.info(
    { budget: budget.id, period, enforcement: enforcement.id, disabled: ids, failed: failed.map((f) => f.key.id) },
    'budget enforced',
  );
  return { enforcement: { ...enforcement, keyIds: ids }, disabled, failed, buttonId };
}

/** Sets each key inactive (never archived); a key the API refuses is reported with the reason, not skipped. */
async function disableKeys(
  s: Services,
  budget: Budget,
  keys: readonly ApiKey[],
): Promise<{ disabled: ApiKey[]; failed: EnforcementOutcome['failed'] }> {
  const disabled: ApiKey[] = [];
  const failed: EnforcementOutcome['failed'] = [];
  for (const key of keys) {
    try {
      disabled.push(await s.admin.updateApiKey(key.id, { status: 'inactive' }));
    } catch (err) {
      failed.push({ key, reason: describeError(err) });
      s.logger.warn({ err, budget: budget.id, key: key.id }, 'budget enforcement: could not set a key inactive');
    }
  }
  return { disabled, failed };
}

/**
 * Holds an enforcement for the rest of its period, until someone re-enables: every active key in scope is set
 * inactive and recorded with it, so a disable that failed (a 429, a 5xx), a run that died half-way and a key created
 * since are all caught by the next run. Returns the keys it changed now (none in the usual case: one list request).
 */
export async function holdEnforcement(
  s: Services,
  budget: Budget,
  e: BudgetEnforcement,
): Promise<{ enforcement: BudgetEnforcement; disabled: ApiKey[]; failed: EnforcementOutcome['failed'] }> {
  const keys = await activeKeysInScope(s, budget);
  const { disabled, failed } = await disableKeys(s, budget, keys);
  if (!disabled.length) return { enforcement: e, disabled, failed };
  const keyIds = [...new Set([...e.keyIds, ...disabled.map((k) => k.id)])];
  await s.store.limits.setEnforcementKeys(e.id, keyIds);
  await s.directory.upsertApiKeys(disabled);
  s.logger.info(
    { budget: budget.id, enforcement: e.id, disabled: disabled.map((k) => k.id) },
    'budget enforcement held: more keys set inactive',
  );
  return { enforcement: { ...e, keyIds }, disabled, failed };
}

/** What the alert card says about an enforcement, with the Re-enable button. */
export function enforcementBlocks(o: EnforcementOutcome, budget: Budget): ReplyBlock[] {
  const blocks: ReplyBlock[] = [];
  if (o.disabled.length) {
    blocks.push({
      type: 'text',
      text: `**Enforced:** Quartermaster set ${countKeys(o.disabled.length)} inactive (not archived): ${o.disabled.map(keyLabel).join(', ')}.`,
    });
  } else if (!o.failed.length) {
    blocks.push({ type: 'text', text: '**Enforced:** there were no active keys in scope to set inactive.' });
  }
  if (o.failed.length) {
    blocks.push({
      type: 'text',
      text: `**Could not set inactive** (still active): ${o.failed.map((f) => `${keyLabel(f.key)}: ${md.escape(f.reason)}`).join('; ')}`,
    });
  }
  if (o.buttonId) {
    blocks.push({
      type: 'context',
      text:
        budget.reenable === 'next_period'
          ? 'Approvers can re-enable exactly these keys now; otherwise they are re-enabled when the next period starts.'
          : 'Approvers can re-enable exactly these keys; they stay inactive until then.',
    });
    blocks.push({ type: 'actions', buttons: [{ id: o.buttonId, label: 'Re-enable', style: 'primary' }] });
  }
  return blocks;
}

export const countKeys = (n: number): string => (n === 1 ? '1 key' : `${n} keys`);

export interface RestoreOutcome {
  restored: ApiKey[];
  /** Already active again (someone re-enabled them in the Console, or an earlier attempt did). */
  alreadyActive: ApiKey[];
  /** Archived or deleted since: left as they are. */
  skipped: { id: string; name: string | null; why: string }[];
}

/**
 * Sets exactly the enforcement's keys active again, skipping keys archived or deleted since. Throws on an Admin
 * API failure (the caller gives its claim back); keys already restored count as already active on a retry.
 */
export async function restoreKeys(s: Services, enforcement: BudgetEnforcement): Promise<RestoreOutcome> {
  const out: RestoreOutcome = { restored: [], alreadyActive: [], skipped: [] };
  for (const id of enforcement.keyIds) {
    const key = await s.admin.getApiKey(id).catch((err) => {
      if (err instanceof AdminApiError && err.kind === 'not_found') return null;
      throw err;
    });
    if (!key) out.skipped.push({ id, name: null, why: 'deleted since' });
    else if (key.status === 'active') out.alreadyActive.push(key);
    else if (key.status !== 'inactive') out.skipped.push({ id, name: key.name, why: `${key.status} since` });
    else out.restored.push(await s.admin.updateApiKey(id, { status: 'active' }));
  }
  if (out.restored.length) await s.directory.upsertApiKeys(out.restored);
  return out;
}

export function describeRestore(o: RestoreOutcome): string {
  const parts: string[] = [];
  parts.push(
    o.restored.length
      ? `Re-enabled ${countKeys(o.restored.length)}: ${o.restored.map(keyLabel).join(', ')}.`
      : 'No key needed re-enabling.',
  );
  if (o.alreadyActive.length) parts.push(`Already active: ${o.alreadyActive.map(keyLabel).join(', ')}.`);
  if (o.skipped.length)
    parts.push(`Left as they are: ${o.skipped.map((k) => `${keyLabel(k)} (${md.escape(k.why)})`).join(', ')}.`);
  return parts.join(' ');
}

/** The request kind an approver's Re-enable files: restores exactly the keys the enforcement disabled. Idempotent. */
export const limitReenable: KindDefinition = {
  kind: 'limit.reenable',
  async execute(r, s) {
    const id = String(r.payload.enforcementId ?? '');
    const by = r.decidedBy ?? r.requester.orgUserId;
    let enforcement = await s.store.limits.getEnforcement(id);
    if (!enforcement) throw new Error(`budget enforcement ${id} no longer exists`);
    if (enforcement.reenabledAt && enforcement.reenabledBy !== by) {
      return { message: alreadyText(enforcement) };
    }
    if (!enforcement.reenabledAt) {
      const claimed = await s.store.limits.claimReenable(id, by, s.clock.now());
      if (!claimed) {
        enforcement = (await s.store.limits.getEnforcement(id)) ?? enforcement;
        if (enforcement.reenabledBy !== by) return { message: alreadyText(enforcement) };
      } else enforcement = claimed;
    }
    // Claimed by this approver (now, or by an earlier attempt of this very request).
    let outcome: RestoreOutcome;
    try {
      outcome = await restoreKeys(s, enforcement);
    } catch (err) {
      await s.store.limits.releaseReenable(id, by);
      throw err;
    }
    return {
      message: describeRestore(outcome),
      data: {
        restored: outcome.restored.map((k) => k.id),
        alreadyActive: outcome.alreadyActive.map((k) => k.id),
        skipped: outcome.skipped.map((k) => k.id),
      },
    };
  },
};

function alreadyText(e: BudgetEnforcement): string {
  const when = e.reenabledAt ? ` at ${e.reenabledAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  const who = e.reenabledBy === 'next_period' ? 'when the next period started' : 'by another approver';
  return `These keys were already re-enabled ${who}${when}; nothing changed.`;
}

/** The Re-enable button on an enforced budget's alert card. */
export const limitsReenableAction: ActionDefinition = {
  kind: LIMITS_REENABLE,
  async handler(ctx) {
    const s = ctx.services;
    const engine = s.approvals;
    if (!(engine instanceof ApprovalEngine)) throw new Error('Re-enable needs the ApprovalEngine');
    const enforcement = await s.store.limits.getEnforcement(ctx.subjectId);
    if (!enforcement) {
      const text = 'This budget enforcement no longer exists.';
      return { outcome: 'failed', errorCode: 'NOT_FOUND', message: text, notice: reply({ tone: 'warning', text }) };
    }
    if (enforcement.reenabledAt) {
      const text = alreadyText(enforcement);
      return { outcome: 'failed', errorCode: 'CONFLICT', message: text, notice: reply({ tone: 'warning', text }) };
    }
    const budget = await s.store.limits.getBudget(enforcement.budgetId);
    // The policy of the budget's workspace decides; once the budget is cleared, that of the workspace its keys are
    // in (a workspace or key budget's keys are all in one), so that clearing a budget is no way around it.
    const workspaceId = budget ? budget.workspaceId : await keysWorkspace(s, enforcement.keyIds);
    const workspace = workspaceId ? await workspaceOf(s, workspaceId) : null;
    const keys = await keyLabels(s, enforcement.keyIds);
    const target = budget ? budgetTarget(budget) : 'a budget that has since been cleared';
    const amount = budget ? ` (${formatUsd(budget.amountNanos)} per ${budget.period})` : '';
    const alert = `**Budget enforced:** ${target}${amount} reached 100 % in ${md.code(enforcement.period)}; Quartermaster set ${countKeys(keys.length)} inactive: ${keys.join(', ')}.`;
    const card =
      enforcement.card && enforcement.card.platform === ctx.platform
        ? { channelId: enforcement.card.channelId, messageId: enforcement.card.messageId }
        : null;
    return engine.respond(ctx, {
      kind: 'limit.reenable',
      workspace,
      payload: { enforcementId: enforcement.id, alert },
      reason: null,
      summary: `Re-enable ${countKeys(enforcement.keyIds.length)} disabled by budget ${budget ? budgetTargetPlain(budget) : enforcement.budgetId} (${enforcement.period})`,
      card,
    });
  },
};

async function workspaceOf(s: Services, id: string): Promise<Workspace> {
  const known = (await s.directory.read()).workspace(id);
  return known ?? { id, name: id, createdAt: null, archivedAt: null, displayColor: null };
}

/** The one workspace all these keys are in (as synced), else '' (the Default workspace, or several: an org budget). */
async function keysWorkspace(s: Services, ids: readonly string[]): Promise<string> {
  const model = await s.directory.read();
  const known = ids.map((id) => model.apiKey(id)).filter((k) => k !== null && k !== undefined);
  const workspaces = new Set(known.map((k) => k.workspaceId ?? ''));
  return workspaces.size === 1 ? [...workspaces][0]! : '';
}

async function keyLabels(s: Services, ids: readonly string[]): Promise<string[]> {
  const model = await s.directory.read();
  return ids.map((id) => keyLabel({ id, name: model.apiKey(id)?.name ?? null }));
}
