#!/usr/bin/env bash
# Runs `prisma generate` for every prisma/<service>/schema.prisma; quiet unless it fails.
#
# Every Prisma CLI command first makes sure the native schema engine is present and tries
# to download it when it is not; this machine has no internet. `generate` never uses that
# engine, so point PRISMA_SCHEMA_ENGINE_BINARY at an existing harmless file (unless the
# caller already set one) and no download is attempted.
#
# PRISMA_ROOT (default: this repository) is where prisma/<service>/ is looked up.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prisma="$repo/node_modules/.bin/prisma"
cd "${PRISMA_ROOT:-$repo}"
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-/bin/true}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1

shopt -s nullglob
schemas=(prisma/*/schema.prisma)
if ((${#schemas[@]} == 0)); then
  echo "generate.sh: no prisma/*/schema.prisma under $PWD" >&2
  exit 1
fi

for schema in "${schemas[@]}"; do
  if ! output="$("$prisma" generate --schema "$schema" 2>&1)"; then
    echo "prisma generate failed for $schema:" >&2
    echo "$output" >&2
    exit 1
  fi
done
