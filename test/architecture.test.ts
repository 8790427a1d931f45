/**
 * The import rules of STYLE.md §7, checked on the real tree: the core is pure (zod and itself), command
 * definitions see only the core, chat adapters never reach storage or the Admin API client, only
 * src/store touches the generated Prisma client, and only the CLI (and tests) import the composition root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED_DIRS = ['src', 'commands', 'test', 'scripts'];
const SKIPPED_DIRS = new Set(['node_modules', 'generated']);

interface Import {
  /** Repo-relative path of the importing file, with forward slashes. */
  file: string;
  specifier: string;
  /** Repo-relative target for relative specifiers (`.js` read as `.ts`); the bare specifier otherwise. */
  target: string;
}

/** Import specifiers of a module: `import … from`, `import '…'`, `export … from` and `import('…')`. */
function importSpecifiers(source: string): string[] {
  // Drop comments so that examples in TSDoc are not taken for imports (`//` inside strings is kept).
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'"`;()]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"`])([^'"`]+)\1\s*[,)]/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[2]!);
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...tsFiles(rel));
    } else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function resolveTarget(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
  return joined.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
}

function scan(): { files: string[]; imports: Import[] } {
  const files = SCANNED_DIRS.flatMap((d) => {
    try {
      return tsFiles(d);
    } catch {
      return [];
    }
  });
  const imports = files.flatMap((file) =>
    importSpecifiers(readFileSync(path.join(root, file), 'utf8')).map((specifier) => ({
      file,
      specifier,
      target: resolveTarget(file, specifier),
    })),
  );
  return { files, imports };
}

const under = (dir: string) => (p: string) => p === dir || p.startsWith(`${dir}/`);
const isPrisma = (t: string) => t === '@prisma/client' || t.startsWith('@prisma/');
const isGenerated = (t: string) => under('src/generated')(t);

interface Rule {
  name: string;
  /** Files the rule applies to. */
  applies(file: string): boolean;
  /** True when the import breaks the rule. */
  forbidden(target: string): boolean;
}

/** Node builtins the core may use: pure functions, no I/O. */
const CORE_BUILTINS = new Set(['node:crypto']);

const RULES: Rule[] = [
  {
    name: 'src/core imports only zod, pure node builtins and src/core',
    applies: under('src/core'),
    forbidden: (t) => !(t === 'zod' || CORE_BUILTINS.has(t) || under('src/core')(t)),
  },
  {
    name: 'commands import only zod, src/core and commands',
    applies: under('commands'),
    forbidden: (t) => !(t === 'zod' || under('src/core')(t) || under('commands')(t)),
  },
  {
    name: 'src/slack never imports store, anthropic, discord, Prisma or the generated client',
    applies: under('src/slack'),
    forbidden: (t) =>
      ['src/store', 'src/anthropic', 'src/discord', 'src/generated'].some((d) => under(d)(t)) || isPrisma(t),
  },
  {
    name: 'src/discord never imports store, anthropic, slack, Prisma or the generated client',
    applies: under('src/discord'),
    forbidden: (t) =>
      ['src/store', 'src/anthropic', 'src/slack', 'src/generated'].some((d) => under(d)(t)) || isPrisma(t),
  },
  {
    name: 'only src/store imports the generated Prisma client or @prisma/client',
    applies: (f) => !under('src/store')(f) && !under('src/generated')(f),
    forbidden: (t) => isGenerated(t) || t === '@prisma/client' || t.startsWith('@prisma/client/'),
  },
  {
    name: 'only src/cli and tests import the composition root src/main.ts',
    applies: (f) => !under('src/cli')(f) && !under('test')(f),
    forbidden: (t) => t === 'src/main.ts',
  },
];

function violations(imports: readonly Import[], rules: readonly Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const i of imports) {
      if (rule.applies(i.file) && rule.forbidden(i.target)) out.push(`${rule.name}: ${i.file} → ${i.specifier}`);
    }
  }
  return out;
}

/** Import cycles among the given files (each as the path around it, starting at its smallest file). */
function cycles(imports: readonly Import[], within: (file: string) => boolean): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!within(i.file) || !within(i.target) || i.file === i.target) continue;
    edges.set(i.file, (edges.get(i.file) ?? new Set()).add(i.target));
  }
  const found = new Map<string, string[]>();
  const visit = (path: string[]) => {
    for (const next of edges.get(path.at(-1)!) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = path.slice(at);
        const start = loop.indexOf([...loop].sort()[0]!);
        const canonical = [...loop.slice(start), ...loop.slice(0, start)];
        found.set(canonical.join(' → '), canonical);
      } else if (path.length < 12) visit([...path, next]);
    }
  };
  for (const file of edges.keys()) visit([file]);
  return [...found.values()];
}

describe('import specifier parsing', () => {
  it('finds static, side-effect, re-export, type and dynamic imports, across lines', () => {
    const src = [
      `import { z } from 'zod';`,
      `import type { Store } from "../ports/store.js";`,
      `import {`,
      `  a,`,
      `  b,`,
      `} from './multi.js';`,
      `import def, * as ns from './ns.js';`,
      `import './side-effect.js';`,
      `export { x } from './re.js';`,
      `export * from './all.js';`,
      `export * as all from './all-ns.js';`,
      `export type { T } from './types.js';`,
      `const m = await import('./dynamic.js');`,
      `const n = await import(\`./template.js\`);`,
      `// import { gone } from './line-comment.js';`,
      `/** import('./doc-comment.js') */`,
      `const url = 'https://example.com/import';`,
    ].join('\n');
    expect(importSpecifiers(src).sort()).toEqual(
      [
        'zod',
        '../ports/store.js',
        './multi.js',
        './ns.js',
        './side-effect.js',
        './re.js',
        './all.js',
        './all-ns.js',
        './types.js',
        './dynamic.js',
        './template.js',
      ].sort(),
    );
  });

  it('resolves relative specifiers to repository paths', () => {
    expect(resolveTarget('src/slack/app.ts', '../core/command/dispatch.js')).toBe('src/core/command/dispatch.ts');
    expect(resolveTarget('commands/keys/list.ts', '../../src/store/index.js')).toBe('src/store/index.ts');
    expect(resolveTarget('src/core/x.ts', 'node:fs')).toBe('node:fs');
  });

  it('reports a breach of each rule', () => {
    const imp = (file: string, specifier: string): Import => ({
      file,
      specifier,
      target: resolveTarget(file, specifier),
    });
    const bad = [
      imp('src/core/keys.ts', 'pino'),
      imp('src/core/keys.ts', 'node:fs'),
      imp('src/core/keys.ts', '../store/index.js'),
      imp('commands/keys/list.ts', '../../src/anthropic/client.js'),
      imp('src/slack/app.ts', '../store/index.js'),
      imp('src/slack/app.ts', '@prisma/client'),
      imp('src/discord/app.ts', '../slack/render.js'),
      imp('src/http/server.ts', '../generated/sqlite/client.js'),
      imp('src/http/server.ts', '../main.js'),
    ];
    for (const i of bad) expect(violations([i]), `${i.file} → ${i.specifier}`).not.toEqual([]);
    expect(violations([imp('src/slack/app.ts', '../store/index.js')])).toEqual([
      'src/slack never imports store, anthropic, discord, Prisma or the generated client: src/slack/app.ts → ../store/index.js',
    ]);
    const good = [
      imp('src/core/keys.ts', 'zod'),
      imp('src/core/keys.ts', 'node:crypto'),
      imp('src/core/command/dispatch.ts', '../errors.js'),
      imp('commands/keys/list.ts', '../format.js'),
      imp('commands/keys/list.ts', '../../src/core/command/define.js'),
      imp('src/slack/app.ts', '@slack/bolt'),
      imp('src/store/index.ts', '../generated/sqlite/client.js'),
      imp('src/cli/main.ts', '../main.js'),
      imp('test/support/app.ts', '../../src/main.js'),
    ];
    expect(violations(good)).toEqual([]);
  });
});

describe('the source tree', () => {
  const { files, imports } = scan();

  it('is actually scanned', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files).toContain('src/core/command/dispatch.ts');
    expect(files).toContain('commands/index.ts');
    expect(files).toContain('src/slack/app.ts');
    expect(imports.length).toBeGreaterThan(50);
    expect(imports.some((i) => i.file === 'src/cli/main.ts' && i.target === 'src/main.ts')).toBe(true);
  });

  it('has no import cycle in the core (type-only imports count: they couple the modules all the same)', () => {
    const found = cycles(imports, under('src/core')).map((c) => c.join(' → '));
    expect(found, `Import cycles:\n${found.join('\n')}`).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const imp = (file: string, specifier: string): Import => ({
      file,
      specifier,
      target: resolveTarget(file, specifier),
    });
    expect(
      cycles(
        [imp('src/core/a.ts', './b.js'), imp('src/core/b.ts', './c.js'), imp('src/core/c.ts', './a.js')],
        under('src/core'),
      ),
    ).toEqual([['src/core/a.ts', 'src/core/b.ts', 'src/core/c.ts']]);
  });

  it('follows the import rules', () => {
    const found = violations(imports);
    expect(found, `Import rule violations (file → import):\n${found.join('\n')}`).toEqual([]);
  });

  it('uses no AsyncLocalStorage in the running bot (on Node 20 one makes every promise of the process pay a hook)', () => {
    const running = files.filter((f) => f.startsWith('src/') || f.startsWith('commands/'));
    const found = running.filter((f) => /new\s+AsyncLocalStorage\b/.test(readFileSync(path.join(root, f), 'utf8')));
    expect(found).toEqual([]);
  });
});
