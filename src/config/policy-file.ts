/**
 * Reads the approval policy file (`QM_POLICY`, else `./quartermaster.yaml` when present, else the built-in
 * defaults). YAML lives here, outside the core; the core validates the parsed object. Every problem is
 * reported at once, each with its YAML path and line.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { loadPolicyFromObject, Policy, PolicyError, type PolicyIssue } from '../core/approvals/policy.js';

export const DEFAULT_POLICY_FILE = 'quartermaster.yaml';

/**
 * `configured` is `QM_POLICY`: when set, that file must exist. When unset, `./quartermaster.yaml` (relative to
 * `cwd`) is used if present, and the built-in defaults otherwise.
 */
export function loadPolicyFile(configured: string | undefined, cwd: string = process.cwd()): Policy {
  const named = configured?.trim();
  if (named) {
    const file = path.resolve(cwd, named);
    if (!existsSync(file)) {
      throw new PolicyError([{ path: [], message: `QM_POLICY names ${file}, which does not exist` }], `file ${named}`);
    }
    return parsePolicyText(readFileSync(file, 'utf8'), named);
  }
  const fallback = path.resolve(cwd, DEFAULT_POLICY_FILE);
  if (existsSync(fallback)) return parsePolicyText(readFileSync(fallback, 'utf8'), `./${DEFAULT_POLICY_FILE}`);
  return Policy.defaults();
}

/** Parse and validate policy YAML; `origin` names the file in messages and in `/qm policy show`. */
export function parsePolicyText(text: string, origin: string): Policy {
  const lineCounter = new LineCounter();
  // Long integers (Discord ids) are read exactly, then kept as strings when a number would lose digits.
  const doc = parseDocument(text, { lineCounter, intAsBigInt: true, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const issues: PolicyIssue[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return { path: [], message: `YAML syntax error at line ${pos.line}, column ${pos.col}: ${message}` };
    });
    throw new PolicyError(issues, `file ${origin}`);
  }
  const value = unBigInt(doc.toJS({ maxAliasCount: 100 }));
  try {
    return loadPolicyFromObject(value, origin);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    throw new PolicyError(err.issues, `file ${origin}`, (issue) => {
      // Point at the offending node, or at the nearest enclosing one that exists (an unknown key's parent map).
      for (let n = issue.path.length; n >= 0; n--) {
        const node = doc.getIn(issue.path.slice(0, n), true);
        if (isNode(node) && node.range) {
          const { line, col } = lineCounter.linePos(node.range[0]);
          return n === issue.path.length ? `line ${line}, column ${col}` : `line ${line}`;
        }
        // An unknown key: find the key itself in its parent map.
        if (n === issue.path.length && n > 0) {
          const parent = doc.getIn(issue.path.slice(0, n - 1), true) as any;
          const pair = parent?.items?.find?.((p: any) => String(p?.key?.value ?? p?.key) === String(issue.path[n - 1]));
          if (pair && isNode(pair.key) && pair.key.range) return `line ${lineCounter.linePos(pair.key.range[0]).line}`;
        }
      }
      return null;
    });
  }
}

function unBigInt(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(unBigInt);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unBigInt(x)]));
  return v;
}
