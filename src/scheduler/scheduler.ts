/**
 * Runs the jobs of src/core/jobs.ts on their intervals. Plain timers rather than cron expressions: the jobs
 * are "every N seconds" and must not overlap; a lease row per job (`store.leases`) keeps replicas from
 * running the same job at once, and a crashed holder's lease simply expires.
 */
import { randomUUID } from 'node:crypto';
import type { JobDefinition } from '../core/jobs.js';
import type { Logger } from '../core/ports/runtime.js';
import type { Services } from '../core/services.js';

export interface Scheduler {
  stop(): Promise<void>;
}

export const HOLDER = `${process.pid}-${randomUUID().slice(0, 8)}`;

/** How long a job's lease lasts from each (re)newal. */
export const jobLeaseMs = (job: JobDefinition) => Math.max(job.everyMs * 2, 60_000);

/**
 * Runs one job once under its lease; returns its summary, or null when another replica holds the lease. While
 * the job runs its lease is renewed (every third of its length, or `renewEveryMs`), as an approval's execution
 * lease is: a run that outlasts the lease (slow Admin API, many items) keeps it, so no other replica starts the
 * same job alongside; a process that dies stops renewing and its lease lapses.
 */
export async function runJobOnce(
  job: JobDefinition,
  services: Services,
  holder = HOLDER,
  o: { renewEveryMs?: number; logger?: Logger } = {},
): Promise<string | null> {
  const leaseMs = jobLeaseMs(job);
  const now = services.clock.now();
  if (!(await services.store.leases.acquire(job.name, holder, new Date(now.getTime() + leaseMs), now))) return null;
  const log = o.logger ?? services.logger;
  // One renewal at a time, and none once the job is done: a renewal still in flight when the lease is released
  // would otherwise land after the release and hold the job for another lease length.
  let renewing: Promise<void> = Promise.resolve();
  let done = false;
  const renewal = setInterval(
    () => {
      renewing = renewing.then(async () => {
        if (done) return;
        const held = await services.store.leases
          .renew(job.name, holder, new Date(services.clock.now().getTime() + leaseMs))
          .catch((err) => {
            log.warn({ err, job: job.name }, 'renewing the job lease failed');
            return true;
          });
        if (!held) log.warn({ job: job.name }, 'could not renew the job lease: another replica took the job over');
      });
    },
    Math.max(1, o.renewEveryMs ?? Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  try {
    return await job.run(services);
  } finally {
    done = true;
    clearInterval(renewal);
    await renewing;
    await services.store.leases.release(job.name, holder);
  }
}

export function startScheduler(jobs: readonly JobDefinition[], services: Services, logger: Logger): Scheduler {
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;
  for (const job of jobs) {
    let busy = false;
    const tick = () => {
      if (busy || stopped) return;
      busy = true;
      const p = runJobOnce(job, services)
        .then((summary) => {
          if (summary !== null) logger.debug({ job: job.name, summary }, 'job ran');
        })
        .catch((err) => logger.error({ err, job: job.name }, 'job failed'))
        .finally(() => {
          busy = false;
          inFlight.delete(p);
        });
      inFlight.add(p);
    };
    const t = setInterval(tick, job.everyMs);
    t.unref();
    timers.push(t);
    if (job.firstAfterMs !== undefined) {
      const first = setTimeout(tick, job.firstAfterMs);
      first.unref();
      timers.push(first);
    }
  }
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...inFlight]);
    },
  };
}
