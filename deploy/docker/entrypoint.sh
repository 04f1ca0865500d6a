#!/bin/sh
# The image's entrypoint: runs one part of the supergraph, chosen by the first
# argument or else by $SERVICE (the image's build argument):
#
#   gateway | users | products | orders | notifications   a long-running service
#   migrate   apply every service's migrations to DATABASE_URL, then exit
#   seed      migrate, then create the admin account and the demo catalog, then exit
#
# Node runs the compiled bundles (`npm run build` in the image, scripts/build.ts) in this
# one process, with no npm wrapper, so SIGTERM reaches the service's own ordered shutdown.
set -eu
task="${1:-${SERVICE:-}}"
run() { exec node "$@"; }
case "$task" in
  gateway) run gateway/dist/main.js ;;
  users | products | orders | notifications) run "subgraphs/$task/dist/main.js" ;;
  migrate) run dist/migrate.js ;;
  seed) node dist/migrate.js && run dist/seed.js ;;
  *)
    echo "usage: set SERVICE (or pass it as the command) to gateway, users, products, orders, notifications, migrate or seed; got '$task'" >&2
    exit 64
    ;;
esac
