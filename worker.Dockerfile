# syntax=docker/dockerfile:1
#
# ibrest worker: one TWS API connection with a fixed clientId, served as a synchronous REST API.
# The same file builds the simulated IB Gateway (target `sim`) for the compose `sim` profile: it is built
# from the same workspace and the same compiled output, so a second Dockerfile would only repeat this one.
#
#   docker build -f worker.Dockerfile -t ibrest-worker .
#   docker build -f worker.Dockerfile --target sim -t ibrest-gateway-sim .
#
# Build context: the repository root (see .dockerignore).

# ---- manifests: only the package.json files and the lock file, so the dependency layers below are
# rebuilt when dependencies change, not on every source edit. The workspace list is taken from the
# context as it is, so adding a package needs no change here.
FROM node:20.20.2-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name node_modules -prune -o -name package.json -print | xargs cp --parents -t /manifests

# ---- build: every dev dependency (TypeScript, types, the simulator the worker's tests use), then
# compile the worker and, through its project references, common, order-safety and gateway-sim.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
RUN npx tsc --build packages/worker packages/gateway-sim \
 && mkdir -p /out \
 && for d in packages/*/dist; do cp -r --parents "$d" /out/; done \
 && rm -rf /out/packages/*/dist/test /out/packages/*/dist/.tsbuildinfo

# ---- production dependencies, one set per runnable package.
FROM node:20.20.2-bookworm-slim AS worker-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --workspace @ibrest/worker --no-audit --no-fund \
 && npm cache clean --force

FROM node:20.20.2-bookworm-slim AS sim-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --workspace @ibrest/gateway-sim --no-audit --no-fund \
 && npm cache clean --force

# ---- sim: the simulated IB Gateway (TWS API on 4002). For demos and tests without an IB account.
FROM node:20.20.2-bookworm-slim AS sim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=sim-deps /app/ ./
COPY --from=build /out/packages/ packages/
USER node
EXPOSE 4002
STOPSIGNAL SIGTERM
# The TWS API port has no HTTP endpoint; a TCP connect is what "the gateway is up" means to a worker.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "require('node:net').connect(4002,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]
CMD ["node", "packages/gateway-sim/dist/src/main.js", "--port", "4002", "--host", "0.0.0.0"]

# ---- worker (default target)
FROM node:20.20.2-bookworm-slim AS worker
# A worker has no TLS or API keys; in a container it listens on the private network behind the proxy, which
# is the one published entry point (docker-compose.yml publishes no worker port).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    IBREST_INSECURE=true \
    DATA_DIR=/data
WORKDIR /app
COPY --from=worker-deps /app/ ./
COPY --from=build /out/packages/ packages/
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
# The order journal and audit log live in DATA_DIR; a named volume mounted here inherits this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
# PORT defaults to 5000 + IB_CLIENT_ID, so worker N listens on 500N.
EXPOSE 5000 5001 5002 5003 5004 5005 5006 5007
# The worker drains in-flight requests and disconnects from IB cleanly on SIGTERM. Run it with an init
# (compose `init: true`, `docker run --init`) so signals reach node and not PID 1's default handling.
STOPSIGNAL SIGTERM
# Liveness, not readiness: a worker whose gateway is down (daily restart) is alive and reconnecting,
# and the proxy already routes on /health/ready. Restarting the container would not bring IB back.
# No --start-period here (dockerfilelint 1.8 rejects the flag); docker-compose.yml sets start_period.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "/health/live", "worker"]
CMD ["node", "packages/worker/dist/src/main.js"]
