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

/** Runs one job once under its lease; returns its summary, or null when another replica holds the lease. */
export async function runJobOnce(job: JobDefinition, services: Services, holder = HOLDER): Promise<string | null> {
  const now = services.clock.now();
  const until = new Date(now.getTime() + Math.max(job.everyMs * 2, 60_000));
  if (!(await services.store.leases.acquire(job.name, holder, until, now))) return null;
  try {
    return await job.run(services);
  } finally {
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
  }
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...inFlight]);
    },
  };
}
