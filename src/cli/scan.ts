/**
 * `npx quartermaster scan [--format json|jsonl|sarif] [files…]` (stdin when no file is named): prints the
 * findings and exits 1 when a secret is found, 0 when none, 2 when a file cannot be read. Findings show only the
 * key's hint; when an Admin API is configured, each is matched by that hint to the key it belongs to.
 *
 * Files and stdin are scanned as they are read, a chunk at a time and without decoding (scan-stream.ts), so a
 * file larger than memory can be scanned; this module loads nothing else until there is an error or a finding.
 */
import { open } from 'node:fs/promises';
import type { SecretFinding } from '../core/leaks/detect.js';
import type { ApiKey } from '../core/ports/admin-api.js';
import { parseCommandLine, UsageError } from './args.js';
import { ByteSecretScanner } from './scan-stream.js';

/** Files are read this much at a time: memory stays flat however large they are. */
export const SCAN_CHUNK_BYTES = 1 << 20;

// Loaded only to print an error or to match findings: a clean scan needs neither (nor zod, which they load).
async function printError(line: string): Promise<void> {
  (await import('./output.js')).printError(line);
}

interface Finding extends SecretFinding {
  file: string;
  key: { id: string; name: string; status: string; workspaceId: string | null } | null;
}

export const SCAN_USAGE = `Usage: npx quartermaster scan [--format json|jsonl|sarif] [files…]

Finds Anthropic keys in the files (or stdin when none is named) and prints the findings, hints only:
  json   one document with every finding (the default)
  jsonl  one finding per line
  sarif  SARIF 2.1.0, for code-scanning tools
Exit 1 when a secret is found, 0 when none, 2 on an error. Use -- before a file name that starts with -.`;

const FORMATS = ['json', 'jsonl', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

/** `args` are those after `scan`. Returns the exit code. */
export async function runScan(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const cl = parseCommandLine(args, SCAN_USAGE, { format: { type: 'string' } }, { max: Number.POSITIVE_INFINITY });
  if (cl.help) {
    console.log(SCAN_USAGE);
    return 0;
  }
  const format = (cl.values.format ?? 'json') as Format;
  if (!FORMATS.includes(format)) {
    throw new UsageError(`--format must be json, jsonl or sarif, not "${cl.values.format}".`, SCAN_USAGE);
  }
  const files = cl.positionals;
  const scanned: string[] = [];
  const found: Finding[] = [];
  let unreadable = false;
  if (files.length === 0) {
    const scanner = new ByteSecretScanner();
    const findings: SecretFinding[] = [];
    for await (const c of process.stdin) findings.push(...scanner.push(c as Buffer));
    findings.push(...scanner.end());
    scanned.push('-');
    found.push(...findings.map((f) => ({ ...f, file: '-', key: null })));
  }
  for (const file of files) {
    try {
      const findings = await scanFile(file);
      scanned.push(file);
      found.push(...findings.map((f) => ({ ...f, file, key: null })));
    } catch (err) {
      unreadable = true;
      await printError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let matchedAgainst: string | null = null;
  if (found.length) {
    const keys = await knownKeys(env);
    if (keys) {
      matchedAgainst = 'Admin API';
      const byHint = new Map(keys.filter((k) => k.partialKeyHint).map((k) => [k.partialKeyHint!, k]));
      for (const f of found) {
        const k = byHint.get(f.hint);
        if (k) f.key = { id: k.id, name: k.name, status: k.status, workspaceId: k.workspaceId };
      }
    }
  }
  process.stdout.write(render(format, scanned, matchedAgainst, found));
  if (unreadable) return 2;
  return found.length ? 1 : 0;
}

/** The findings in one file, read a chunk at a time into one reused buffer. */
async function scanFile(file: string): Promise<SecretFinding[]> {
  const handle = await open(file, 'r');
  try {
    const scanner = new ByteSecretScanner();
    const findings: SecretFinding[] = [];
    const chunk = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      findings.push(...scanner.push(chunk.subarray(0, bytesRead)));
    }
    findings.push(...scanner.end());
    return findings;
  } finally {
    await handle.close();
  }
}

function render(format: Format, scanned: string[], matchedAgainst: string | null, findings: Finding[]): string {
  if (format === 'jsonl') return findings.map((f) => `${JSON.stringify(f)}\n`).join('');
  if (format === 'json') return `${JSON.stringify({ scanned, matchedAgainst, findings }, null, 2)}\n`;
  const rules = [...new Set(findings.map((f) => f.kind))];
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'quartermaster scan',
            rules: rules.map((id) => ({ id, shortDescription: { text: `Leaked secret: ${id.replaceAll('_', ' ')}` } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.kind,
          level: 'error',
          message: {
            text: `A secret (${f.hint}) is in this file${f.key ? `: key "${f.key.name}" (${f.key.id}, ${f.key.status})` : ''}. Deactivate it and remove it.`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file === '-' ? 'stdin' : f.file },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
        })),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

/** The organization's keys, when an Admin API is configured; null otherwise (scanning works offline too). */
async function knownKeys(env: Record<string, string | undefined>): Promise<ApiKey[] | null> {
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig(env);
  if (!config.ANTHROPIC_ADMIN_KEY) return null;
  try {
    const { createAdminApiClient } = await import('../anthropic/client.js');
    return await createAdminApiClient({
      adminKey: config.ANTHROPIC_ADMIN_KEY,
      baseURL: config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
      maxRetries: 1,
    }).listApiKeys();
  } catch (err) {
    await printError(`Could not match findings to keys: ${(err as Error).message}`);
    return null;
  }
}
