/** Quartermaster as a separate process, started the way an operator (or the outside e2e tests) start it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../fakes/slack.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BotProcess {
  child: ChildProcess;
  url: string;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Spawns `command` (e.g. `['npm', 'start']`) with only the given environment (plus PATH and HOME) on a free port,
 * in its own process group, and waits until it says it is running.
 */
export async function startBotProcess(
  command: string[],
  env: Record<string, string>,
  waitMs = 60_000,
): Promise<BotProcess> {
  const port = await freePort();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d) => {
    output += d.toString();
    stderr += d.toString();
  });
  await waitFor(
    () => output.includes('Quartermaster is running') || child.exitCode !== null || undefined,
    waitMs,
  ).catch(() => undefined);
  if (!output.includes('Quartermaster is running')) throw new Error(`${command.join(' ')} did not come up:\n${output}`);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

export interface ExitedProcess {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` with only the given environment (plus PATH and HOME) until it exits on its own; a process still
 * running after `timeoutMs` is killed and reported with code null.
 */
export async function runToExit(
  command: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ExitedProcess> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d.toString()));
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) =>
    child.on('close', (c, signal) => resolve(signal ? null : c)),
  );
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Stops the whole process group (npm and the node it started). */
export async function stopBotProcess(
  b: BotProcess | null | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (!b?.child.pid || b.child.exitCode !== null) return;
  const exited = new Promise((r) => b.child.once('exit', r));
  try {
    process.kill(-b.child.pid, signal);
  } catch {
    return;
  }
  await exited;
}
