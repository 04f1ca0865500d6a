#!/bin/sh
# The image's entrypoint: runs one part of the supergraph, chosen by the first
# argument or else by $SERVICE (the image's build argument):
#
#   gateway | users | products | orders | notifications   a long-running service
#   migrate   apply every service's migrations to DATABASE_URL, then exit
#   seed      migrate, then create the admin account and the demo catalog, then exit
#
# Node runs the TypeScript sources through tsx's loader in this one process
# (no npm or tsx CLI wrapper), so SIGTERM reaches the service's own ordered shutdown.
set -eu
task="${1:-${SERVICE:-}}"
run() { exec node --import tsx "$@"; }
case "$task" in
  gateway) run gateway/src/main.ts ;;
  users | products | orders | notifications) run "subgraphs/$task/src/main.ts" ;;
  migrate) run scripts/deploy/migrate.ts ;;
  seed) node --import tsx scripts/deploy/migrate.ts && run scripts/seed.ts ;;
  *)
    echo "usage: set SERVICE (or pass it as the command) to gateway, users, products, orders, notifications, migrate or seed; got '$task'" >&2
    exit 64
    ;;
esac
