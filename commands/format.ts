/** Small formatting helpers shared by command handlers. */
export function day(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 10);
}

export function when(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/**
 * How old the synced directory copy a list was served from is, for its context line: `as of 12:03 UTC` (with the
 * date when it is not today's). Lists answer from the copy, which is synced every few minutes and updated at
 * once by every change made through Quartermaster.
 */
export function asOf(syncedAt: Date | null, now: Date): string {
  if (!syncedAt) return 'Not synced with the Admin API yet.';
  const sameDay = syncedAt.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  return `Synced directory as of ${sameDay ? syncedAt.toISOString().slice(11, 16) + ' UTC' : when(syncedAt)}.`;
}
