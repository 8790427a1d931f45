/**
 * Log lines are written asynchronously (issue 8), but an error line is flushed at once with everything before it:
 * when the process then dies without an exit event (an abort, the OOM killer or a supervisor's SIGKILL, SIGHUP),
 * the lines explaining why are on stdout (found in review).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logger = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/log/logger.ts');

function linesWritten(how: 'abort' | 'SIGKILL' | 'SIGHUP'): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'qm-log-'));
  const script = path.join(dir, 'die.ts');
  writeFileSync(
    script,
    `import { createLogger } from ${JSON.stringify(logger)};
const log = createLogger({ level: 'info', pretty: false });
for (let i = 0; i < 200; i++) log.info({ i }, 'line');
log.error('the last words before the crash');
if (${JSON.stringify(how)} === 'abort') process.abort(); else process.kill(process.pid, ${JSON.stringify(how)});
`,
  );
  let out = '';
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  return out.split('\n').filter((l) => l.includes('"msg":')).length;
}

describe('log lines up to an error, before an abrupt end', () => {
  for (const how of ['abort', 'SIGKILL', 'SIGHUP'] as const) {
    it(`are all on stdout after ${how}`, () => {
      expect(linesWritten(how)).toBe(201);
    });
  }
});
