import { z } from 'zod';
import { defineCommand, type InvocationInfo } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { seesAllKeys } from '../../src/core/identity/visibility.js';
import { budgetTargetStart } from '../../src/core/limits/budgets.js';
import { budgetSpend } from '../../src/core/limits/spend.js';
import type { Budget } from '../../src/core/ports/limits.js';
import type { Services } from '../../src/core/services.js';
import { localDate } from '../../src/core/spend/digest-schedule.js';
import { formatUsd } from '../../src/core/spend/money.js';
import { when } from '../format.js';
import {
  channelWhere,
  findVisibleBudget,
  resolveTarget,
  scopeOption,
  skipTargetForOrg,
  targetOption,
  visibleBudgets,
} from './common.js';

/** Budgets shown in one reply; the rest are counted (narrow with scope and target). */
const MAX_SHOWN = 20;

const PERIOD_WORD = { day: 'today', week: 'this week', month: 'this month' } as const;

async function describe(s: Services, b: Budget, now: Date, here: InvocationInfo): Promise<string> {
  const spend = await budgetSpend(s, b, now);
  const [alerts, enforcement] = await Promise.all([
    s.store.limits.alerts(b.id, spend.period.key),
    s.store.limits.enforcementFor(b.id, spend.period.key),
  ]);
  // No `~` for "about": two on a line read as strikethrough on Slack.
  const spent = !spend.estimate
    ? md.bold(formatUsd(spend.nanos))
    : spend.exactNanos === 0n
      ? `${md.bold(formatUsd(spend.nanos))} (estimate)`
      : `${md.bold(formatUsd(spend.nanos))} (of which ${formatUsd(spend.estimatedNanos)} estimated)`;
  const percent = `${spend.percent.toFixed(1)} %`;
  const forecast = spend.forecastNanos === null ? 'no forecast yet' : `forecast ${formatUsd(spend.forecastNanos)}`;
  const last = new Date(spend.period.end.getTime() - 1);
  const dates =
    b.period === 'day'
      ? localDate(spend.period.start, b.timezone)
      : `${localDate(spend.period.start, b.timezone)} to ${localDate(last, b.timezone)}`;
  const crossed = alerts
    .filter((a) => a.state === 'over')
    .map((a) => a.threshold)
    .sort((x, y) => x - y);
  const lines = [
    `${budgetTargetStart(b)}: ${spent} of ${formatUsd(b.amountNanos)} ${PERIOD_WORD[b.period]} (${percent}) · ${forecast}`,
    `${b.period === 'day' ? 'Day' : b.period === 'week' ? 'Week' : 'Month'} ${dates} (${md.escape(b.timezone)}) · alerts at ${b.thresholds.map((t) => `${t} %`).join(', ')}${crossed.length ? ` · crossed: ${crossed.map((t) => `${t} %`).join(', ')}` : ' · none crossed yet'} · to ${channelWhere(b, here)}`,
  ];
  if (b.enforce) {
    const active = enforcement && !enforcement.reenabledAt;
    lines.push(
      active
        ? `Enforced: ${enforcement.keyIds.length} key${enforcement.keyIds.length === 1 ? '' : 's'} set inactive by it since ${when(enforcement.disabledAt)}; ${b.reenable === 'next_period' ? 're-enabled when the next period starts or by an approver' : 're-enabled by an approver'}.`
        : `Enforced: at 100 % its active keys are set inactive (${b.reenable === 'next_period' ? 're-enabled next period' : 're-enabled by an approver'}); none are disabled by it now.`,
    );
  }
  return lines.join('\n');
}

export default defineCommand({
  path: ['limits', 'show'],
  description: 'Show the spend budgets you can see, with spend so far, percent and forecast',
  access: 'member',
  readOnly: true,
  options: z.object({
    scope: scopeOption().optional(),
    target: targetOption(),
  }),
  positional: ['scope', 'target'],
  skipPositional: skipTargetForOrg,
  examples: ['limits show', 'limits show workspace', 'limits show key prod-chat'],
  async handler({ options, caller, services, invocation }) {
    const base = invocation.commandText.replace(/ show$/, '');
    if (options.target && !options.scope) {
      throw new DomainError(
        'INVALID_INPUT',
        `Say which scope ${md.code(options.target)} is: ${md.code(`${base} show workspace ${options.target}`)} or ${md.code(`${base} show key ${options.target}`)}.`,
      );
    }
    let budgets: Budget[];
    if (options.scope && (options.target || options.scope === 'org')) {
      const found = await findVisibleBudget(services, caller, options.scope, options.target);
      if (!found) {
        // Same answers as naming the target anywhere else (no such key, org only for billing and admins), then:
        const target = await resolveTarget(services, caller, options.scope, options.target, `${base} set`);
        throw new DomainError(
          'NOT_FOUND',
          `${budgetTargetStart(target)} has no budget. ${md.code(`${base} set`)} sets one.`,
        );
      }
      budgets = [found];
    } else {
      budgets = (await visibleBudgets(services, caller)).filter((b) => !options.scope || b.scope === options.scope);
    }
    if (budgets.length === 0) {
      const how = seesAllKeys(caller)
        ? `Set one with ${md.code(`${base} set org 5000`)} or ${md.code(`${base} set workspace prod 1200 week`)}.`
        : `${md.code(`${base} set workspace NAME 1200`)} or ${md.code(`${base} set key NAME 100`)} asks billing or an admin to set one.`;
      return reply({
        title: 'Budgets',
        text: `No ${options.scope ? `${options.scope} ` : ''}budgets you can see. ${how}`,
        summary: 'No budgets',
      });
    }
    const now = services.clock.now();
    const shown = budgets.slice(0, MAX_SHOWN);
    const texts = await Promise.all(shown.map((b) => describe(services, b, now, invocation)));
    const notes = [
      'Workspace and organization spend is from the cost report, topped up with usage × list prices (estimate) for the hours it does not cover yet; key spend is always an estimate.',
    ];
    if (budgets.length > shown.length)
      notes.unshift(`${budgets.length - shown.length} more not shown: narrow with a scope and a target.`);
    return reply({
      title: budgets.length === 1 ? 'Budget' : `Budgets (${budgets.length})`,
      blocks: [...texts.map((text) => ({ type: 'text' as const, text })), { type: 'context', text: notes.join(' ') }],
      summary: `${budgets.length} budget${budgets.length === 1 ? '' : 's'}`,
    });
  },
});
