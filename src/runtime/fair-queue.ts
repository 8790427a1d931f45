/**
 * The WorkQueue the dispatcher runs commands and clicks on (src/core/ports/runtime.ts), built from p-limit:
 *   - at most `total` pieces of work run at once (the event loop keeps room for acknowledgements);
 *   - one workspace holds at most `perTeam` of those slots, and one user one at a time (a user's commands run in
 *     order), so a user whose commands are slow (a rate-limited chat API, a slow Admin API) delays only themselves;
 *   - a user with `maxWaitingPerUser` commands already waiting is refused at once (WorkRefused) rather than queued
 *     without bound.
 *   - a piece of work starts only in its own turn of the event loop, after the loop has taken in what arrived
 *     (setImmediate runs after the poll phase): a burst of commands therefore never delays the acknowledgement of
 *     a request that arrives meanwhile by more than one piece of work's first synchronous stretch.
 * Per-user and per-workspace limiters exist only while they have work, so the maps do not grow with every user ever
 * seen.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { type WorkOwner, type WorkQueue, WorkRefused } from '../core/ports/runtime.js';

export interface FairQueueOptions {
  total?: number;
  perTeam?: number;
  maxWaitingPerUser?: number;
}

export const DEFAULT_WORK_CONCURRENCY = 8;

export class FairQueue implements WorkQueue {
  private readonly all: LimitFunction;
  private readonly teams = new Map<string, { limit: LimitFunction; users: number }>();
  private readonly users = new Map<string, { limit: LimitFunction; pending: number }>();
  private readonly perTeam: number;
  private readonly maxWaitingPerUser: number;
  private accepted = 0;
  private started = 0;
  private readonly turns = new TurnGate();

  constructor(o: FairQueueOptions = {}) {
    const total = o.total ?? DEFAULT_WORK_CONCURRENCY;
    this.all = pLimit(total);
    this.perTeam = o.perTeam ?? Math.max(1, Math.floor(total / 2));
    this.maxWaitingPerUser = o.maxWaitingPerUser ?? 20;
  }

  get waiting(): number {
    return this.accepted - this.started;
  }

  run<T>(owner: WorkOwner, work: () => Promise<T>): Promise<T> {
    const teamKey = `${owner.platform}:${owner.teamId}`;
    const userKey = `${teamKey}:${owner.userId}`;
    let user = this.users.get(userKey);
    if (user && user.pending >= this.maxWaitingPerUser) return Promise.reject(new WorkRefused(user.pending));
    if (!user) {
      user = { limit: pLimit(1), pending: 0 };
      this.users.set(userKey, user);
    }
    let team = this.teams.get(teamKey);
    if (!team) {
      team = { limit: pLimit(this.perTeam), users: 0 };
      this.teams.set(teamKey, team);
    }
    const u = user;
    const t = team;
    u.pending++;
    t.users++;
    this.accepted++;
    return u
      .limit(() =>
        t.limit(() =>
          this.all(async () => {
            await this.turns.next();
            this.started++;
            return work();
          }),
        ),
      )
      .finally(() => {
        if (--u.pending === 0) this.users.delete(userKey);
        if (--t.users === 0) this.teams.delete(teamKey);
      });
  }
}

/**
 * Lets waiters through one per turn of the event loop, each in the check phase (setImmediate), so that the I/O that
 * arrived since the last one (new requests to acknowledge) is handled first.
 */
export class TurnGate {
  private readonly waiters: (() => void)[] = [];
  private scheduled = false;

  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.waiters.shift()?.();
      if (this.waiters.length > 0) this.schedule();
    });
  }
}
