# syntax=docker/dockerfile:1.7
#
# One image per part of the supergraph, from one multi-stage build:
#
#   docker build --build-arg SERVICE=users -t storefront-users .
#   docker run storefront-users                 # or: docker run storefront migrate|seed|<service>
#
# SERVICE: gateway | users | products | orders | notifications (see deploy/docker/entrypoint.sh).
# The services run compiled JavaScript with plain node: `npm run build` (scripts/build.ts) bundles
# each entry into <service>/dist/main.js (and dist/migrate.js, dist/seed.js). The sources stay in
# the image: the bundles read schema.graphql, migrations and rate-limits.yaml from them.
# Pin NODE_IMAGE by digest in CI (node:20-slim@sha256:…) for reproducible builds.
ARG NODE_IMAGE=node:20-slim

# ── build: every dependency, the Prisma clients, then only what runs ──────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1 npm_config_update_notifier=false
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY packages/platform/package.json packages/platform/
COPY gateway/package.json gateway/
COPY subgraphs/users/package.json subgraphs/users/
COPY subgraphs/products/package.json subgraphs/products/
COPY subgraphs/orders/package.json subgraphs/orders/
COPY subgraphs/notifications/package.json subgraphs/notifications/
# No install scripts: the only ones that matter here (Prisma generate) run explicitly below,
# and the rest would download engines the services never use (they talk to PostgreSQL through adapter-pg).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The Prisma clients (prisma-client generator, no native engine) into subgraphs/*/src/data/generated.
RUN bash scripts/prisma/generate.sh
# Compile every entry (esbuild, a dev dependency) before the dev dependencies go.
RUN npm run build
# Production dependencies only: nothing at run time needs tsx or esbuild.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ── runtime: production dependencies and sources, read-only to a non-root user ──────────
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production DATA_DIR=/data
WORKDIR /app
# Files stay owned by root: the service (user `node`, uid 1000) can read them, not change them.
COPY --from=build /app /app
# DATA_DIR is only used without DATABASE_URL (embedded databases, a development signing key);
# owned by `node` so a volume mounted there starts out writable.
RUN mkdir -p /data && chown node:node /data
# Numeric, so Kubernetes' runAsNonRoot can verify it (1000 is the image's `node` user).
USER 1000:1000
ARG SERVICE=gateway
ENV SERVICE=${SERVICE}
# gateway 4000, users 4001, products 4002, orders 4003, notifications 4004 (their *_PORT defaults)
EXPOSE 4000 4001 4002 4003 4004
ENTRYPOINT ["/app/deploy/docker/entrypoint.sh"]
