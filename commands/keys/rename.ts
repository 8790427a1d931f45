import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { findKey, keyPlace, workspaceOfKey } from '../targets.js';

export default defineCommand({
  path: ['keys', 'rename'],
  description: 'Request renaming an API key',
  access: 'member',
  options: z.object({
    key: z.string().min(1).max(500).describe('The key: its id (apikey_…) or its exact name'),
    name: z.string().min(1).max(500).describe('The new name'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['key', 'name'],
  examples: ['keys rename prod-chat prod-chat-v2'],
  async handler({ options, caller, services, invocation }) {
    const newName = options.name.trim();
    if (!newName) throw new DomainError('INVALID_INPUT', 'The new name cannot be blank.');
    const key = await findKey(services, options.key, caller);
    if (key.status === 'expired') {
      throw new DomainError('CONFLICT', `Key ${md.code(key.name)} has expired; an expired key cannot be changed.`);
    }
    if (key.name === newName) throw new DomainError('CONFLICT', `Key ${md.code(key.name)} already has that name.`);
    const ws = await workspaceOfKey(services, key);
    return services.approvals.submit({
      caller,
      kind: 'key.rename',
      workspace: ws,
      payload: { keyId: key.id, name: newName, fromName: key.name },
      reason: options.reason ?? null,
      summary: `Rename key ${key.name} in ${keyPlace(key, ws)} to ${newName}`,
      channelId: invocation.channelId,
    });
  },
});
