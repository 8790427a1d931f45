/**
 * Who you can be in the playground: chat accounts on platform `playground`, each linked to a member of the built-in
 * simulated organization (or, for one of them, to nobody), so every permission, quorum and refusal is the real one.
 */
import type { Services } from '../core/services.js';

export const PLAYGROUND_TEAM = 'TPLAYGROUND';
export const PLAYGROUND_CHANNEL = 'CPLAYGROUND';

export interface PlaygroundMember {
  /** The chat user id (what the audit log records as the actor). */
  id: string;
  name: string;
  /** What they are in the simulated organization, shown in the member picker. */
  role: string;
  /** The org member this account is linked to; null: not linked. */
  email: string | null;
}

export const PLAYGROUND_MEMBERS: readonly PlaygroundMember[] = [
  { id: 'UBOB', name: 'Bob', role: 'developer: files requests', email: 'bob@example.com' },
  { id: 'UALICE', name: 'Alice', role: 'admin: approves', email: 'alice@example.com' },
  { id: 'UCAROL', name: 'Carol', role: 'billing', email: 'carol@example.com' },
  { id: 'UDAVE', name: 'Dave', role: 'user: no rights', email: 'dave@example.com' },
  { id: 'UUMA', name: 'Uma', role: 'not linked', email: null },
];

export function playgroundMember(id: unknown): PlaygroundMember | undefined {
  return PLAYGROUND_MEMBERS.find((m) => m.id === id);
}

/** Links each playground account to its org member (as an operator's link would); returns who was linked. */
export async function linkPlaygroundMembers(s: Services): Promise<string[]> {
  const now = s.clock.now();
  const linked: string[] = [];
  for (const m of PLAYGROUND_MEMBERS) {
    if (!m.email) {
      await s.store.links.remove('playground', PLAYGROUND_TEAM, m.id);
      continue;
    }
    const user = await s.store.directory.findUserByEmail(m.email);
    if (!user) continue;
    await s.store.links.upsert({
      platform: 'playground',
      teamId: PLAYGROUND_TEAM,
      userId: m.id,
      orgUserId: user.id,
      email: user.email,
      method: 'playground',
      linkedAt: now,
      refreshedAt: now,
    });
    linked.push(m.id);
  }
  return linked;
}
