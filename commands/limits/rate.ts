/**
 * `/qm limits rate [workspace]`: the organization's rate limits, read live from the Admin API
 * (`GET /v1/organizations/rate_limits`), and with a workspace its overrides
 * (`GET /v1/organizations/workspaces/{id}/rate_limits`) beside the organization's values. Read-only: rate limits are
 * set in the Claude Console (Settings → Limits, a workspace's Rate limits tab); the Admin API Quartermaster uses
 * has no endpoint to change them (admin-api.md §3.10).
 *
 * Who may see it: rate limits are not secret, but they are the working numbers of people who call the API with
 * keys, so the command needs `keys:read` (developer and up, the roles that manage API keys), and `/qm help` shows it
 * only to them. A workspace's overrides follow the key visibility of `keys list` and `usage`: billing and admins see
 * every workspace's, others the workspaces where they are a developer or admin. Any other workspace gets the very
 * same answer as one that does not exist.
 */
import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, type ReplyBlock, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import type { Caller } from '../../src/core/identity/caller.js';
import { KEY_VIEWING_ROLES, seesAllKeys } from '../../src/core/identity/visibility.js';
import { AdminApiError, type Workspace } from '../../src/core/ports/admin-api.js';
import type { RateLimitGroup, RateLimitValue } from '../../src/core/ports/spend.js';
import { suggestions } from '../targets.js';

/** Model names shown per group; the rest are counted. */
const MAX_MODELS = 4;

const GROUP_NAMES: Record<string, string> = {
  model_group: 'Model group',
  batch: 'Message Batches API',
  token_count: 'Token counting API',
  files: 'Files API',
  skills: 'Skills API',
  web_search: 'Web search tool',
};

/** How each limiter type reads: what is counted, and per what. */
const LIMIT_LABELS: Record<string, readonly [string, string]> = {
  requests_per_minute: ['Requests', 'per minute'],
  input_tokens_per_minute: ['Input tokens', 'per minute'],
  input_tokens_per_minute_cache_aware: ['Input tokens (cache reads not counted)', 'per minute'],
  output_tokens_per_minute: ['Output tokens', 'per minute'],
  tokens_per_minute: ['Tokens', 'per minute'],
  tokens_per_day: ['Tokens', 'per day'],
  enqueued_batch_requests: ['Batch requests waiting to be processed', 'at a time'],
  tool_uses_per_second: ['Tool uses', 'per second'],
  fast_itpmca: ['Fast mode input tokens (cache reads not counted)', 'per minute'],
  fast_otpm: ['Fast mode output tokens', 'per minute'],
};

const CONSOLE_NOTE =
  'Rate limits are changed in the Claude Console, not through Quartermaster: Settings → Limits for the organization, a workspace’s Rate limits tab for its overrides. Quartermaster only reads them.';

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

const humanize = (type: string) => {
  const words = type.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** `Requests: 4,000 per minute`, for any limiter type (an unknown one reads from its name). */
export function limitLabel(type: string): { what: string; unit: string } {
  const known = LIMIT_LABELS[type];
  if (known) return { what: known[0], unit: known[1] };
  const m = /^(.+)_per_(second|minute|hour|day)$/.exec(type);
  if (m) return { what: md.escape(humanize(m[1]!)), unit: `per ${m[2]}` };
  return { what: md.escape(humanize(type)), unit: '' };
}

function limitLine(l: RateLimitValue, override: boolean): string {
  const { what, unit } = limitLabel(l.type);
  const value = `${number.format(l.value)}${unit ? ` ${unit}` : ''}`;
  if (!override) return `${what}: ${value}`;
  const org = l.orgLimit === null ? 'no organization limit' : `organization: ${number.format(l.orgLimit)}`;
  return `${what}: **${value}** (${org})`;
}

function groupTitle(g: RateLimitGroup): string {
  const name = g.displayName ?? GROUP_NAMES[g.groupType] ?? humanize(g.groupType);
  const shown = g.models.slice(0, MAX_MODELS).map((m) => md.code(m));
  const more = g.models.length - shown.length;
  const models = shown.length ? ` · ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : '';
  return `${md.bold(name)}${models}`;
}

function groupBlock(g: RateLimitGroup, override: boolean): ReplyBlock {
  return { type: 'text', text: [groupTitle(g), ...g.limits.map((l) => limitLine(l, override))].join('\n') };
}

function canSeeWorkspaceLimits(caller: Caller, workspaceId: string): boolean {
  return (
    seesAllKeys(caller) ||
    caller.memberships.some((m) => m.workspaceId === workspaceId && KEY_VIEWING_ROLES.has(m.workspaceRole))
  );
}

/**
 * The workspace named, among those the caller may see. A workspace they may not see gets exactly the answer of one
 * that does not exist (the names offered are only the visible ones).
 */
function findVisibleWorkspace(all: readonly Workspace[], ref: string, caller: Caller): Workspace {
  const visible = all.filter((w) => canSeeWorkspaceLimits(caller, w.id));
  const wanted = ref.trim().toLowerCase();
  const hit = visible.find((w) => w.id === ref.trim() || w.name.toLowerCase() === wanted);
  if (hit) return hit;
  const names = visible.filter((w) => !w.archivedAt).map((w) => w.name);
  const near = suggestions(ref, names);
  const didYouMean = near.length ? ` Did you mean ${near.map((n) => md.code(n)).join(' or ')}?` : '';
  const list = `${names.map((n) => md.code(n)).join(', ') || 'none'} (or ${md.code('default')})`;
  throw new DomainError(
    'NOT_FOUND',
    seesAllKeys(caller)
      ? `There is no workspace called ${md.code(ref)}.${didYouMean} Workspaces: ${list}.`
      : `No workspace you can see is called ${md.code(ref)}.${didYouMean} You see the rate limits of the workspaces where you are a developer or admin: ${list}.`,
  );
}

export default defineCommand({
  path: ['limits', 'rate'],
  description: "Show the organization's API rate limits, and a workspace's overrides (changed in the Console)",
  // Developer and up: the roles that manage API keys, whose calls these limits govern (see the file comment).
  access: 'keys:read',
  readOnly: true,
  options: z.object({
    workspace: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Workspace name or id: also show its overrides ("default" for the Default workspace)'),
  }),
  positional: ['workspace'],
  examples: ['limits rate', 'limits rate prod', 'limits rate workspace:staging'],
  async handler({ options, caller, services, invocation }) {
    const ref = options.workspace?.trim();
    const isDefault = ref?.toLowerCase() === 'default';
    let workspace: Workspace | null = null;
    if (ref && !isDefault) {
      const directory = await services.directory.forList();
      workspace = findVisibleWorkspace(directory.listWorkspaces(), ref, caller);
      if (workspace.archivedAt) {
        throw new DomainError(
          'CONFLICT',
          `Workspace ${md.code(workspace.name)} is archived: its keys no longer work, so no rate limits apply to it.`,
        );
      }
    }

    const ws = workspace;
    const [org, overrides] = await Promise.all([
      services.reports.rateLimits(),
      ws
        ? services.reports.workspaceRateLimits(ws.id).catch((e: unknown) => {
            if (e instanceof AdminApiError && e.kind === 'not_found') {
              throw new DomainError(
                'NOT_FOUND',
                `Anthropic no longer knows workspace ${md.code(ws.name)}; it may have been removed since Quartermaster last synced.`,
              );
            }
            throw e;
          })
        : Promise.resolve([] as RateLimitGroup[]),
    ]);

    const blocks: ReplyBlock[] = [];
    if (ws) {
      blocks.push({
        type: 'text',
        text: overrides.length
          ? `${md.bold(`Overrides in workspace ${ws.name}`)}: these apply alongside the organization's limits, and the lower value is enforced. Limits not listed are the organization's.`
          : `Workspace ${md.bold(ws.name)} has no rate-limit overrides: the organization's limits below apply to it.`,
      });
      for (const g of overrides) blocks.push(groupBlock(g, true));
      blocks.push({ type: 'divider' });
    } else if (isDefault) {
      blocks.push({
        type: 'text',
        text: `The ${md.bold('Default')} workspace has no rate-limit overrides: the organization's limits below apply to it.`,
      });
      blocks.push({ type: 'divider' });
    }
    blocks.push({ type: 'text', text: md.bold("Organization's rate limits") });
    if (org.length) for (const g of org) blocks.push(groupBlock(g, false));
    else blocks.push({ type: 'text', text: 'The Admin API reported no rate limits for the organization.' });
    const hint =
      ws || isDefault ? '' : ` A workspace's overrides: ${md.code(`${invocation.commandText} <workspace>`)}.`;
    blocks.push({ type: 'context', text: `${CONSOLE_NOTE}${hint}` });

    const title = ws
      ? `Rate limits: workspace ${ws.name}`
      : isDefault
        ? 'Rate limits: Default workspace'
        : 'Rate limits';
    return reply({
      title: md.escape(title),
      blocks,
      summary: ws
        ? `${title}: ${overrides.length} overridden groups, ${org.length} organization groups`
        : `${title}: ${org.length} groups`,
    });
  },
});
