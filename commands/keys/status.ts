/** `/qm keys disable|enable|archive`: requests to change a key's status, each through the approval engine. */
import { z } from 'zod';
import type { RequestKind } from '../../src/core/approvals/policy.js';
import { type CommandDefinition, defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import type { ApiKey } from '../../src/core/ports/admin-api.js';
import { findKey, keyPlace, workspaceOfKey } from '../targets.js';

const options = z.object({
  key: z.string().min(1).max(500).describe('The key: its id (apikey_…) or its exact name'),
  reason: z.string().min(1).max(500).describe('Why; shown to the approvers'),
});

interface StatusChange {
  verb: 'disable' | 'enable' | 'archive';
  kind: RequestKind;
  description: string;
  example: string;
  /** Throws when the change cannot or need not be made. */
  check(key: ApiKey): void;
  summary(key: ApiKey, place: string): string;
}

const name = (k: ApiKey) => md.code(k.name);
const expiredRefusal = (k: ApiKey) =>
  new DomainError(
    'CONFLICT',
    `Key ${name(k)} has expired; an expired key cannot be changed or reactivated. Request a new key instead.`,
  );

function statusCommand(c: StatusChange): CommandDefinition<typeof options> {
  return defineCommand({
    path: ['keys', c.verb],
    description: c.description,
    access: 'member',
    options,
    positional: ['key', 'reason'],
    examples: [c.example],
    async handler({ options, caller, services, invocation }) {
      const key = await findKey(services, options.key, caller);
      if (key.status === 'expired') throw expiredRefusal(key);
      c.check(key);
      const ws = await workspaceOfKey(services, key);
      return services.approvals.submit({
        caller,
        kind: c.kind,
        workspace: ws,
        payload: { keyId: key.id, name: key.name, fromStatus: key.status },
        reason: options.reason,
        summary: c.summary(key, keyPlace(key, ws)),
        channelId: invocation.channelId,
      });
    },
  });
}

export const keysDisable = statusCommand({
  verb: 'disable',
  kind: 'key.disable',
  description: 'Request disabling an API key (status inactive; it can be enabled again)',
  example: 'keys disable prod-chat reason:"suspected leak"',
  check(k) {
    if (k.status === 'inactive') throw new DomainError('CONFLICT', `Key ${name(k)} is already disabled (inactive).`);
    if (k.status === 'archived')
      throw new DomainError('CONFLICT', `Key ${name(k)} is archived; an archived key cannot be changed.`);
  },
  summary: (k, place) => `Disable key ${k.name} in ${place} (it can be enabled again)`,
});

export const keysEnable = statusCommand({
  verb: 'enable',
  kind: 'key.enable',
  description: 'Request enabling a disabled API key again (status active)',
  example: 'keys enable prod-chat reason:"rotated the leaked copy"',
  check(k) {
    if (k.status === 'active') throw new DomainError('CONFLICT', `Key ${name(k)} is already active.`);
    if (k.status === 'archived')
      throw new DomainError(
        'CONFLICT',
        `Key ${name(k)} is archived, and archived keys cannot be reactivated. Request a new key instead.`,
      );
  },
  summary: (k, place) => `Enable key ${k.name} in ${place} again`,
});

export const keysArchive = statusCommand({
  verb: 'archive',
  kind: 'key.archive',
  description: 'Request archiving an API key (permanent: an archived key can never be used again)',
  example: 'keys archive staging-temp reason:"no longer used"',
  check(k) {
    if (k.status === 'archived') throw new DomainError('CONFLICT', `Key ${name(k)} is already archived.`);
  },
  summary: (k, place) => `Archive key ${k.name} in ${place}: irreversible, the key can never be used again`,
});
