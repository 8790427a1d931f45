/**
 * Scheduled jobs, as data. Each runs on an interval in every replica, behind a lease in the database so only
 * one replica runs a given job at a time, and each can be run once by hand: `npx quartermaster jobs run NAME`.
 */
import { collectButtons } from './approvals/buttons.js';
import { revertExpiredElevations } from './approvals/grants.js';
import { watchInvites } from './approvals/invites.js';
import { enforceBoundKeyExpiry, expireJitGrants, retireRotatedKeys, watchJitKeys } from './approvals/key-requests.js';
import { checkAnomalies, formatAnomalySummary } from './limits/anomalies.js';
import { checkLimits, checkLimitsAfterSync, formatLimitsSummary } from './limits/check.js';
import type { Services } from './services.js';
import { sendDueDigests } from './spend/digest-send.js';
import { formatSyncSummary, type SpendSyncSummary, syncClaudeCode, syncCosts, syncUsage } from './spend/sync.js';

export interface JobDefinition {
  name: string;
  description: string;
  everyMs: number;
  /**
   * Run once this long after start-up too, instead of waiting a whole interval (the report syncs, so the built-in
   * simulated organization shows usage at once; src/main.ts applies it to that organization only).
   */
  firstAfterMs?: number;
  /** Returns a one-line summary of what it did. */
  run(services: Services): Promise<string>;
}

export const JOBS: readonly JobDefinition[] = [
  {
    name: 'approvals.execute',
    description: 'carry out approved requests (the outbox), including ones a crashed replica left half-done',
    everyMs: 5_000,
    run: async (s) => `${await s.approvals.runDue()} executed`,
  },
  {
    name: 'approvals.expire',
    description: 'expire pending requests past their deadline and tell the requesters',
    everyMs: 60_000,
    run: async (s) => `${await s.approvals.expireDue()} expired`,
  },
  {
    name: 'approvals.remind',
    description: 'remind approvers by DM before a pending request expires',
    everyMs: 60_000,
    run: async (s) => `${await s.approvals.remindDue()} reminded`,
  },
  {
    name: 'approvals.collect-buttons',
    description: 'delete the buttons of requests that have been decided, expired or cancelled for a day',
    everyMs: 60 * 60_000,
    run: async (s) => `${await collectButtons(s)} buttons deleted`,
  },
  {
    name: 'grants.revert-roles',
    description: 'revert time-boxed org role changes whose time is up',
    everyMs: 60_000,
    run: async (s) => `${await revertExpiredElevations(s)} reverted`,
  },
  {
    name: 'invites.watch',
    description: 'add the approved workspace memberships of invitees who have accepted, and tell the requesters',
    everyMs: 60_000,
    run: async (s) => `${await watchInvites(s)} completed`,
  },
  {
    name: 'grants.watch-keys',
    description: 'bind keys created under a just-in-time grant and take the temporary workspace role back',
    everyMs: 30_000,
    run: async (s) => `${await watchJitKeys(s)} bound`,
  },
  {
    name: 'grants.expire-jit',
    description: 'close just-in-time key grants whose window passed unused and take the role back',
    everyMs: 60_000,
    run: async (s) => `${await expireJitGrants(s)} expired`,
  },
  {
    name: 'keys.retire-rotated',
    description: 'set the old key of a rotation inactive once its replacement has been bound for the grace period',
    everyMs: 60_000,
    run: async (s) => `${await retireRotatedKeys(s)} retired`,
  },
  {
    name: 'keys.enforce-expiry',
    description: 'set a key created through a request inactive once the expiry it was approved with has passed',
    everyMs: 5 * 60_000,
    run: async (s) => `${await enforceBoundKeyExpiry(s)} expired`,
  },
  {
    name: 'directory.sync',
    description: 'refresh the stored copy of users, workspaces, memberships and keys from the Admin API',
    everyMs: 5 * 60_000,
    run: async (s) => {
      const snap = await s.directory.sync();
      return `${snap.users.length} users, ${snap.apiKeys?.length ?? 'unchanged'} keys`;
    },
  },
  {
    name: 'digests.send',
    description: 'post the digests whose local time has come (each once per subscription and period)',
    everyMs: 60_000,
    run: async (s) => {
      const r = await sendDueDigests(s);
      return `${r.sent} sent${r.failed ? `, ${r.failed} failed` : ''}`;
    },
  },
  {
    name: 'usage.sync',
    description: 'ingest the hourly usage report (tokens per key, workspace, model and tier), re-reading the last 48 h',
    everyMs: 10 * 60_000,
    firstAfterMs: 10_000,
    run: async (s) => afterUsageSync(s, formatSyncSummary(await syncUsage(s)) + (await checkLimitsAfterSync(s))),
  },
  {
    name: 'spend.anomalies',
    description:
      'alert once per episode on keys and workspaces whose last-hour or last-day cost runs far above their own baseline',
    everyMs: 10 * 60_000,
    run: async (s) => formatAnomalySummary(await checkAnomalies(s)),
  },
  {
    name: 'costs.sync',
    description: 'ingest the daily cost report (last 3 days re-read) and the Claude Code report (last 2 days re-read)',
    everyMs: 30 * 60_000,
    firstAfterMs: 20_000,
    // Both are daily reports that the API revises for days; one failing does not keep the other from running.
    run: async (s) => {
      const done: SpendSyncSummary[] = [];
      const failed: unknown[] = [];
      for (const sync of [syncCosts, syncClaudeCode]) {
        try {
          done.push(await sync(s));
        } catch (err) {
          failed.push(err);
        }
      }
      // Budgets are checked right after new costs arrive (its failure does not hide the sync's result).
      const limits = done.some((d) => d.report === 'costs') ? await checkLimitsAfterSync(s) : '';
      if (failed.length) {
        const msg = failed.map((e) => (e instanceof Error ? e.message : String(e))).join(' ');
        throw new Error(done.length ? `${msg} (${done.map(formatSyncSummary).join('; ')})` : msg, {
          cause: failed[0],
        });
      }
      return done.map(formatSyncSummary).join('; ') + limits;
    },
  },
  {
    name: 'limits.check',
    description:
      'check every budget against its thresholds: alert once per threshold and period, back-under and new-period notices, enforcement',
    everyMs: 30 * 60_000,
    run: async (s) => formatLimitsSummary(await checkLimits(s)),
  },
];

/** Runaway spend is checked right after new usage arrived; its failure is logged and leaves the sync's summary. */
async function afterUsageSync(s: Services, summary: string): Promise<string> {
  try {
    return `${summary}; anomalies: ${formatAnomalySummary(await checkAnomalies(s))}`;
  } catch (err) {
    s.logger.error({ err, job: 'spend.anomalies' }, 'checking runaway spend after the usage sync failed');
    return `${summary}; anomalies: failed`;
  }
}
