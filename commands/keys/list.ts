import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, pageFooter, paginate, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { canSeeKey } from '../../src/core/identity/visibility.js';
import type { ApiKey, Workspace } from '../../src/core/ports/admin-api.js';
import { asOf, day } from '../format.js';

const PAGE_SIZE = 15;

export default defineCommand({
  path: ['keys', 'list'],
  description: 'List API keys: name, status, hint, workspace, owner, created and expiry dates',
  access: 'keys:read',
  readOnly: true,
  options: z.object({
    workspace: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Workspace name or id ("default" for the Default workspace)'),
    status: z.enum(['active', 'inactive', 'archived', 'expired']).optional().describe('Only keys with this status'),
    mine: z.boolean().optional().describe('Only keys you created'),
    page: z.number().int().min(1).max(1000).optional().describe('Page of the list to show'),
  }),
  positional: ['workspace', 'status'],
  examples: ['keys list', 'keys list workspace:prod status:active', 'keys list mine'],
  async handler({ options, caller, services, invocation }) {
    const me = caller.orgUser!;
    // Served from the synced directory (never a listing of every key from the Admin API), see asOf.
    const directory = await services.directory.forList();
    const workspaces = directory.listWorkspaces();
    let workspace: Workspace | 'default' | undefined;
    if (options.workspace) {
      const wanted = options.workspace.toLowerCase();
      if (wanted === 'default') workspace = 'default';
      else {
        workspace = workspaces.find((w) => w.id === options.workspace || w.name.toLowerCase() === wanted);
        if (!workspace) {
          const names = workspaces.filter((w) => !w.archivedAt).map((w) => md.code(w.name));
          throw new DomainError(
            'NOT_FOUND',
            `There is no workspace called ${md.code(options.workspace)}. Workspaces: ${names.join(', ') || 'none'} (or ${md.code('default')}).`,
          );
        }
      }
    }

    const keys = directory
      .listApiKeys()
      .filter(
        (k) =>
          (!options.status || k.status === options.status) &&
          (!workspace || workspace === 'default' || k.workspaceId === workspace.id) &&
          (!options.mine || k.createdBy?.id === me.id),
      );

    // The same rule decides which keys every other command may name (src/core/identity/visibility.ts).
    const visible = keys.filter((k) => !(workspace === 'default' && k.workspaceId !== null) && canSeeKey(caller, k));
    const hidden = keys.length - visible.length;
    // Already newest first (the directory keeps its keys sorted).

    const names = new Map(workspaces.map((w) => [w.id, w.name]));
    const emails = { get: (id: string) => directory.user(id)?.email };
    const p = paginate(visible, options.page ?? 1, PAGE_SIZE);
    const filters = [
      options.workspace
        ? `workspace:${options.workspace.includes(' ') ? `"${options.workspace}"` : options.workspace}`
        : '',
      options.status ? `status:${options.status}` : '',
      options.mine ? 'mine' : '',
    ].filter(Boolean);
    const base = [invocation.commandText, ...filters].join(' ');

    const blocks = p.items.map((k) => ({ type: 'text' as const, text: describeKey(k, names, emails) }));
    const notes = [pageFooter(p, base, 'keys'), asOf(directory.syncedAt, services.clock.now())];
    if (hidden > 0) {
      // How many is not said either: that is for those who may list them.
      notes.push('Keys in workspaces where you are not a developer or admin are not shown.');
    }
    return reply({
      title: filters.length ? `API keys (${filters.join(', ')})` : 'API keys',
      blocks: [...blocks, { type: 'context', text: notes.join(' ') }],
      summary: `${visible.length} API keys`,
    });
  },
});

function describeKey(
  k: ApiKey,
  workspaces: Map<string, string>,
  emails: { get(id: string): string | undefined },
): string {
  const ws = k.workspaceId ? (workspaces.get(k.workspaceId) ?? k.workspaceId) : 'Default';
  const owner = !k.createdBy
    ? 'unknown owner'
    : k.createdBy.type === 'user'
      ? (emails.get(k.createdBy.id) ?? k.createdBy.id)
      : `${k.createdBy.type} ${k.createdBy.id}`;
  const hint = k.partialKeyHint ? md.code(k.partialKeyHint) : 'no hint';
  return [
    `${md.bold(k.name)} · ${md.code(k.status)} · ${hint}`,
    `${md.escape(ws)} · owner ${md.escape(owner)} · created ${day(k.createdAt)} · expires ${day(k.expiresAt)}`,
  ].join('\n');
}
