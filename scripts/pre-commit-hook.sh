#!/bin/sh
# Quartermaster's git pre-commit hook: blocks a commit whose staged files hold an Anthropic API key, admin key or
# OAuth token (`npx quartermaster scan`, the detector of issue 11: hints only, the secret is never printed).
#
# Install in a repository:
#   cp scripts/pre-commit-hook.sh .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
# (or, with a shared hooks directory, `git config core.hooksPath .githooks` and copy it there as pre-commit).
#
# What is scanned is what the commit will hold: the staged version of each added, copied, modified or renamed
# file (`git diff --cached`), not the working tree. Symbolic links and submodules are skipped. A finding blocks
# the commit (scan exits 1); so does a scanner error (exit 2), since an unscanned commit could leak. The command
# is `npx --no-install quartermaster`, or $QUARTERMASTER when set (e.g. `node /path/to/bin/quartermaster.mjs`).
# `git commit --no-verify` skips the hook; a key that was about to be committed should be deactivated anyway.
set -u

qm=${QUARTERMASTER:-npx --no-install quartermaster}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qm-pre-commit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The staged files, one per line (file names with a newline in them are not supported).
list=$(git -c core.quotepath=off diff --cached --name-only --diff-filter=ACMR) || exit 1
[ -n "$list" ] || exit 0

set --
while IFS= read -r file; do
  [ -n "$file" ] || continue
  mode=$(git ls-files --stage -- "$file" | cut -d' ' -f1 | head -n 1)
  case "$mode" in 100644 | 100755) ;; *) continue ;; esac # a link (120000) or a submodule (160000)
  mkdir -p "$tmp/$(dirname -- "$file")" && git cat-file blob ":$file" >"$tmp/$file" || exit 1
  set -- "$@" "$tmp/$file"
done <<LIST
$list
LIST
[ $# -gt 0 ] || exit 0

# Run from the repository's top level (where npx finds its quartermaster); the findings name the copies, and are
# printed with the repository's paths.
out=$($qm scan --format jsonl -- "$@" 2>"$tmp/.qm-stderr")
code=$?
case $code in
  0) exit 0 ;;
  1)
    echo "quartermaster: commit blocked, a secret is staged:" >&2
    printf '%s\n' "$out" | QM_COPY="$tmp/" node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        for (const l of s.split("\n").filter(Boolean)) {
          const f = JSON.parse(l);
          const key = f.key ? ` (key "${f.key.name}", ${f.key.status})` : "";
          const file = f.file.startsWith(process.env.QM_COPY) ? f.file.slice(process.env.QM_COPY.length) : f.file;
          console.error(`  ${file}:${f.line}:${f.column}  ${f.kind}  ${f.hint}${key}`);
        }
      });' || printf '%s\n' "$out" >&2
    echo "Remove it from the staged files (git restore --staged, or edit and git add), and deactivate the key." >&2
    exit 1
    ;;
  *)
    echo "quartermaster: commit blocked, the staged files could not be scanned (exit $code):" >&2
    sed "s#$tmp/##g" "$tmp/.qm-stderr" >&2
    exit 1
    ;;
esac
