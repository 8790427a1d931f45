/**
 * Buttons are rows in the database (an opaque id → kind, subject, choice). They are collected with their
 * subject: once an approval request or link request has been in a final state for BUTTON_GRACE_MS (so a late
 * click still gets "already approved" rather than "this button no longer works"), or when the subject is gone.
 */
import { LINK_DECIDE } from '../identity/link-requests.js';
import type { Services } from '../services.js';
import { APPROVAL_VOTE } from './engine.js';

/** How long the buttons of a finished request keep answering with what happened to it. */
export const BUTTON_GRACE_MS = 24 * 3_600_000;

/** `approvals.collect-buttons`: deletes the buttons of finished (or vanished) requests; returns how many. */
export async function collectButtons(s: Services): Promise<number> {
  const cutoff = s.clock.now().getTime() - BUTTON_GRACE_MS;
  const finishedBefore = (at: Date | null | undefined) => !at || at.getTime() <= cutoff;
  const approvals: string[] = [];
  for (const id of await s.store.actionTokens.subjects(APPROVAL_VOTE)) {
    const r = await s.store.approvals.get(id);
    if (!r || (r.status !== 'pending' && finishedBefore(r.decidedAt ?? r.expiresAt))) approvals.push(id);
  }
  const links: string[] = [];
  for (const id of await s.store.actionTokens.subjects(LINK_DECIDE)) {
    const r = await s.store.linkRequests.get(id);
    if (!r || (r.status !== 'pending' && finishedBefore(r.decidedAt))) links.push(id);
  }
  return (
    (await s.store.actionTokens.deleteFor(APPROVAL_VOTE, approvals)) +
    (await s.store.actionTokens.deleteFor(LINK_DECIDE, links))
  );
}
