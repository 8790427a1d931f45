/**
 * Audit entries are written with group commit: the first entry after a quiet spell is written at once; entries
 * appended while that write is in flight, or within PACE_MS of it, are written together in the next statement (one
 * multi-row INSERT), so a stream of commands costs a few inserts a second rather than one per command, and a lone
 * command waits for nothing. The dispatcher waits for the entry after the command has left its queue slot. Each append resolves once its
 * own row is stored (or rejects with the reason), so nothing is acknowledged that was not written.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntry, AuditEntryInput } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { insertRows } from './insert-rows.js';

/** At most one insert per this many ms while entries keep coming (group commit, paced). */
const PACE_MS = 50;

/** Rows per insert statement (well under SQLite's and PostgreSQL's bound-parameter limits at 13 columns). */
const MAX_BATCH = 250;

interface Pending {
  row: Record<string, unknown>;
  entry: AuditEntry;
  resolve(entry: AuditEntry): void;
  reject(err: unknown): void;
}

export class AuditWriter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private lastInsertAt = Number.NEGATIVE_INFINITY;
  private hurry = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly provider: 'sqlite' | 'postgres',
  ) {}

  private insert(rows: Record<string, unknown>[]): Promise<void> {
    return insertRows(this.prisma, this.provider, 'AuditEvent', rows, { casts: { options: 'jsonb' } });
  }

  append(input: AuditEntryInput): Promise<AuditEntry> {
    try {
      return this.enqueue(input);
    } catch (err) {
      // Options that cannot be serialized fail this append, as a rejection its caller handles.
      return Promise.reject(err);
    }
  }

  private enqueue(input: AuditEntryInput): Promise<AuditEntry> {
    const at = new Date();
    const id = randomUUID();
    // Round-trip through JSON so undefined/functions/Dates become what a Json column can hold.
    const options = JSON.parse(JSON.stringify(input.options ?? {})) as Record<string, unknown>;
    const durationMs = Math.max(0, Math.round(input.durationMs));
    const entry: AuditEntry = { ...input, id, at, options, durationMs };
    const row: Record<string, unknown> = {
      id,
      at,
      platform: input.platform,
      teamId: input.teamId,
      actorId: input.actorId,
      orgUserId: input.orgUserId,
      actorEmail: input.actorEmail,
      action: input.action,
      options: JSON.stringify(options),
      outcome: input.outcome,
      stage: input.stage,
      errorCode: input.errorCode,
      message: input.message,
      durationMs,
    };
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ row, entry, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves once everything appended so far is written (or has failed), without waiting for the pace. */
  async flush(): Promise<void> {
    this.hurry = true;
    this.wake?.();
    try {
      while (this.flushing) await this.flushing;
    } finally {
      this.hurry = false;
    }
  }

  /** Never throws (every failure goes to its own append), so the end of the loop is always reached. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Paced: at most one insert per PACE_MS while entries keep coming, so a steady stream of commands (200/s)
      // costs a handful of multi-row inserts a second instead of one commit per command. A lone entry after a
      // quiet spell is written at once.
      // The monotonic clock: a wall clock stepped back (NTP, a resumed VM) must not stretch the pause.
      const wait = Math.min(PACE_MS, this.lastInsertAt + PACE_MS - performance.now());
      if (wait > 0 && !this.hurry) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          // flush() (shutdown) cuts the pause short.
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
      this.lastInsertAt = performance.now();
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.insert(batch.map((p) => p.row));
        for (const p of batch) p.resolve(p.entry);
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        // One bad entry must not take the others down with it: write them one by one, each with its own outcome.
        else for (const p of batch) await this.insert([p.row]).then(() => p.resolve(p.entry), p.reject);
      }
    }
    // Cleared in the same turn as the last look at the queue, so an append is never left without a writer.
    this.flushing = null;
  }
}
