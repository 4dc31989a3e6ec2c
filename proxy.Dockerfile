# syntax=docker/dockerfile:1
#
# ibrest proxy: the single entry point (TLS, API keys, routing to the workers, health, metrics).
#
#   docker build -f proxy.Dockerfile -t ibrest-proxy .
#
# Build context: the repository root (see .dockerignore).

# ---- manifests: only the package.json files and the lock file, so the dependency layers below are
# rebuilt when dependencies change, not on every source edit.
FROM node:20.20.2-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name node_modules -prune -o -name package.json -print | xargs cp --parents -t /manifests

# ---- build: all dev dependencies, then compile the proxy and (through its references) common.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
RUN npx tsc --build packages/proxy \
 && mkdir -p /out \
 && for d in packages/*/dist; do cp -r --parents "$d" /out/; done \
 && rm -rf /out/packages/*/dist/test /out/packages/*/dist/.tsbuildinfo

# ---- production dependencies of the proxy only.
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --workspace @ibrest/proxy --no-audit --no-fund \
 && npm cache clean --force

FROM node:20.20.2-bookworm-slim AS proxy
# V8 heap bounds: RSS stays under 100 MB under load (live heap ≈ 12 MB); see bench/README.md "Fixes".
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128" \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/ ./
COPY --from=build /out/packages/ packages/
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
# DATA_DIR keeps the generated self-signed certificate (and anything else the proxy persists) across
# restarts; a named volume mounted here inherits this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# The proxy stops accepting, lets in-flight requests finish and exits on SIGTERM. Run it with an init
# (compose `init: true`, `docker run --init`) so signals reach node and not PID 1's default handling.
STOPSIGNAL SIGTERM
# Liveness of the proxy itself. Whether workers are ready is the proxy's own business (it answers 503
# for what it cannot route); restarting the proxy would not make a worker ready.
# No --start-period here (dockerfilelint 1.8 rejects the flag); docker-compose.yml sets start_period.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "/health/live", "8080"]
CMD ["node", "packages/proxy/dist/src/main.js"]
