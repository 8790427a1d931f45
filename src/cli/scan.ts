/**
 * `npx quartermaster scan [files…]` (stdin when no file is named): prints JSON findings and exits 1 when a
 * secret is found, 0 when none, 2 when a file cannot be read. Findings show only the key's hint; when an
 * Admin API is configured, each is matched by that hint to the key it belongs to (name, workspace, status).
 */
import { readFile } from 'node:fs/promises';
import { createAdminApiClient } from '../anthropic/client.js';
import { loadConfig } from '../config/load.js';
import { findSecrets, type SecretFinding } from '../core/leaks/detect.js';
import type { ApiKey } from '../core/ports/admin-api.js';

interface Finding extends SecretFinding {
  file: string;
  key: { id: string; name: string; status: string; workspaceId: string | null } | null;
}

export async function runScan(files: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const sources: { file: string; text: string }[] = [];
  let unreadable = false;
  if (files.length === 0) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    sources.push({ file: '-', text: Buffer.concat(chunks).toString('utf8') });
  }
  for (const file of files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      unreadable = true;
      console.error(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const found: Finding[] = sources.flatMap(({ file, text }) =>
    findSecrets(text).map((f) => ({ ...f, file, key: null })),
  );
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
  process.stdout.write(
    `${JSON.stringify({ scanned: sources.map((s) => s.file), matchedAgainst, findings: found }, null, 2)}\n`,
  );
  if (unreadable) return 2;
  return found.length ? 1 : 0;
}

/** The organization's keys, when an Admin API is configured; null otherwise (scanning works offline too). */
async function knownKeys(env: Record<string, string | undefined>): Promise<ApiKey[] | null> {
  const config = loadConfig(env);
  if (!config.ANTHROPIC_ADMIN_KEY) return null;
  try {
    return await createAdminApiClient({
      adminKey: config.ANTHROPIC_ADMIN_KEY,
      baseURL: config.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
      maxRetries: 1,
    }).listApiKeys();
  } catch (err) {
    console.error(`Could not match findings to keys: ${(err as Error).message}`);
    return null;
  }
}
