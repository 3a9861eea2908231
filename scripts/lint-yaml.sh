#!/usr/bin/env bash
# Lints every YAML file of the repository (deploy/ manifests, docs/openapi.yaml,
# .yamllint itself, ...) with the repository's .yamllint. Warnings count as
# errors (--strict). Exits non-zero when a file fails or yamllint is missing.
#   bash scripts/lint-yaml.sh            # all YAML files git knows or would add
#   bash scripts/lint-yaml.sh FILE...    # just these
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v yamllint >/dev/null 2>&1; then
  echo "lint-yaml: yamllint not found (Debian package yamllint; scripts/setup-deps.sh installs it)" >&2
  exit 2
fi

files=()
if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files plus new ones not ignored, so build dirs (/build*/) never count
  # and a manifest is checked before its first commit.
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && files+=("$f")
  done < <(git ls-files -z --cached --others --exclude-standard -- '*.yaml' '*.yml' '.yamllint')
else
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find . \( -path './build*' -o -path ./out -o -path ./data -o -path ./.git \) -prune \
    -o -type f \( -name '*.yaml' -o -name '*.yml' -o -name .yamllint \) -print0)
fi

if [ ${#files[@]} -eq 0 ]; then
  echo "lint-yaml: no YAML files found" >&2
  exit 1
fi
yamllint --strict --config-file .yamllint "${files[@]}"
echo "lint-yaml: ${#files[@]} files clean"
