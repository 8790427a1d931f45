import { formatDuration } from '../core/approvals/policy.js';
import { JOBS, type JobDefinition } from '../core/jobs.js';
import { runJobOnce } from '../scheduler/scheduler.js';
import { parseCommandLine, UsageError } from './args.js';
import { buildCliCore } from './core.js';
import { printError, printLine } from './output.js';

export const JOBS_USAGE = `Usage: npx quartermaster jobs list
       npx quartermaster jobs run NAME`;

function usageError(message: string): never {
  throw new UsageError(message, JOBS_USAGE);
}

export interface JobsCliOptions {
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  err?: (line: string) => void;
  jobs?: readonly JobDefinition[];
}

export async function runJobsCli(args: string[], o: JobsCliOptions = {}): Promise<number> {
  const out = o.out ?? printLine;
  const err = o.err ?? printError;
  const jobs = o.jobs ?? JOBS;
  const cl = parseCommandLine(
    args,
    JOBS_USAGE,
    {},
    {
      min: 1,
      max: 2,
      missing: 'Say what to do: jobs list, or jobs run NAME.',
    },
  );
  if (cl.help) {
    out(JOBS_USAGE);
    return 0;
  }
  const [sub, name] = cl.positionals;
  if (sub !== 'list' && sub !== 'run') usageError(`Unknown jobs command "${sub}": use list or run.`);
  if (sub === 'list' && name !== undefined) usageError(`Unexpected extra argument "${name}".`);
  if (sub === 'run' && name === undefined) usageError('jobs run needs the NAME of a job (see jobs list).');

  if (sub === 'list') {
    const width = Math.max(...jobs.map((j) => j.name.length));
    const every = jobs.map((j) => `every ${formatDuration(j.everyMs)}`);
    const everyWidth = Math.max(...every.map((e) => e.length));
    jobs.forEach((j, i) => {
      out(`${j.name.padEnd(width)}  ${every[i]!.padEnd(everyWidth)}  ${j.description}`);
    });
    return 0;
  }

  {
    const job = jobs.find((j) => j.name === name);
    if (!job) {
      err(`There is no job "${name}". Jobs: ${jobs.map((j) => j.name).join(', ')}.`);
      return 2;
    }
    const core = await buildCliCore(o.env ?? process.env);
    try {
      if (core.simulator) {
        err('Note: ANTHROPIC_ADMIN_KEY is not set, so this runs against a fresh simulated organization.');
      }
      const started = Date.now();
      const summary = await runJobOnce(job, core.services);
      if (summary === null) {
        out(`${job.name} is running in another replica right now (it holds the job's lease); nothing was done.`);
        return 0;
      }
      out(`${job.name}: ${summary} (${Date.now() - started} ms)`);
      return 0;
    } finally {
      await core.close();
    }
  }
}
