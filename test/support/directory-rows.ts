/** Directory rows as the Admin API client maps them, for store tests (defaults overridden per test). */
import type { ApiKey } from '../../src/core/ports/admin-api.js';

/** An active key created by user_1 in wrkspc_a; `extra` overrides any field. */
export const apiKey = (id: string, extra: Partial<ApiKey> = {}): ApiKey => ({
  id,
  name: `key ${id}`,
  status: 'active',
  partialKeyHint: 'sk-ant-api03-R2D...igAA',
  workspaceId: 'wrkspc_a',
  createdAt: '2024-05-01T10:00:00.000Z',
  createdBy: { id: 'user_1', type: 'user' },
  expiresAt: null,
  ...extra,
});
