/**
 * The CronSchedule port on node-cron's matcher. `createTask` only parses the expression and registers the task
 * (it starts no timer); `task.match(date)` reads the date's wall-clock fields in the task's IANA time zone, so
 * daylight-saving changes are the zone database's business. Tasks are kept per (expression, zone) and never
 * started; the cache is bounded.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { CronSchedule } from '../core/ports/spend.js';

const MINUTE = 60_000;
const MAX_TASKS = 1000;

export function nodeCronSchedule(): CronSchedule {
  const tasks = new Map<string, ScheduledTask>();
  const taskFor = (expression: string, timezone: string): ScheduledTask => {
    const key = `${timezone} ${expression}`;
    let task = tasks.get(key);
    if (!task) {
      if (tasks.size >= MAX_TASKS) {
        const [oldestKey, oldest] = tasks.entries().next().value!;
        tasks.delete(oldestKey);
        void oldest.destroy();
      }
      task = cron.createTask(expression, () => {}, { timezone });
      tasks.set(key, task);
    }
    return task;
  };
  return {
    lastFire(expression, timezone, now, withinMs) {
      const task = taskFor(expression, timezone);
      // Every zone in use today is offset from UTC by a multiple of 15 minutes, so a local minute m can only fall
      // on UTC minutes ≡ m (mod 15): one in fifteen minutes needs asking, when the expression names one minute.
      const minuteField = expression.trim().split(/\s+/)[0]!;
      const fixedMinute = /^\d+$/.test(minuteField) ? Number(minuteField) % 15 : null;
      const last = Math.floor(now.getTime() / MINUTE) * MINUTE;
      for (let t = last; t > now.getTime() - withinMs; t -= MINUTE) {
        const d = new Date(t);
        if (fixedMinute !== null && d.getUTCMinutes() % 15 !== fixedMinute) continue;
        if (task.match(d)) return d;
      }
      return null;
    },
  };
}
