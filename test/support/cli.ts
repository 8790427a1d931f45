/** Runs `node bin/quartermaster.mjs …` as an operator does: a separate process, only the given environment. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { root } from './process.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const BIN = path.join(root, 'bin', 'quartermaster.mjs');

/** A stack trace line (`    at fn (file:1:2)`): never shown to an operator. */
export const STACK_LINE = /^\s+at .+[(:]/m;

/**
 * Runs the CLI with `args` and only PATH, HOME and `env` in its environment; killed (SIGKILL) after `timeoutMs`,
 * so a verb that would hang (or start serving) fails its test instead of stalling it.
 */
export function runCli(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.stdin.end(o.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 45_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
