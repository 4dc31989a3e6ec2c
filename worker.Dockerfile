#
# ibrest worker: one TWS API connection with a fixed clientId, served as a synchronous REST API.
# The same file builds the simulated IB Gateway (target `sim`) for the compose `sim` profile: it is built
# from the same workspace and the same compiled output, so a second Dockerfile would only repeat this one.
#
#   docker build -f worker.Dockerfile -t ibrest-worker .
#   docker build -f worker.Dockerfile --target sim -t ibrest-gateway-sim .
#
# Build context: the repository root (see .dockerignore). No `# syntax=` line: nothing here needs a BuildKit
# frontend newer than the builder's own, and the classic builder builds this file too.

# ---- manifests: only the package.json files, the lock file and patches/ (patch-package's input), so the
# dependency layers below are rebuilt when dependencies change, not on every source edit. The workspace
# list is taken from the context as it is, so adding a package needs no change here.
FROM node:26.12.1-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name node_modules -prune -o -name package.json -print | xargs cp --parents -t /manifests \
 && if [ -d patches ]; then cp -r patches /manifests/; fi

# ---- build: the root's build tools (TypeScript, Node's types, patch-package) and the dependencies of the
# worker and the simulator, not every workspace's test tools. Tests are not compiled (they do not ship).
# Install scripts are skipped (the root's postinstall would run patch-package over packages this build does not
# install); deploy/docker/apply-patches.mjs applies the patches of those it does.
FROM node:26.12.1-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
COPY deploy/docker/apply-patches.mjs /opt/apply-patches.mjs
RUN npm ci --ignore-scripts --workspace @ibrest/worker --workspace @ibrest/gateway-sim --include-workspace-root \
      --no-audit --no-fund \
 && node /opt/apply-patches.mjs node_modules/patch-package
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
RUN node -e "for (const p of process.argv.slice(1)) { const f = p + '/tsconfig.json'; \
      const c = JSON.parse(fs.readFileSync(f, 'utf8')); c.include = c.include.filter((i) => !/^test\b/.test(i)); \
      fs.writeFileSync(f, JSON.stringify(c)); }" packages/* \
 && npx tsc --build packages/worker packages/gateway-sim \
 && mkdir -p /out \
 && for d in packages/*/dist; do cp -r --parents "$d" /out/; done \
 && find /out -name '*.d.ts' -delete -o -name '*.d.ts.map' -delete -o -name .tsbuildinfo -delete

# ---- production dependencies, one set per runnable package. Lifecycle scripts are skipped (no package
# needs one: storage is node:sqlite, nothing native); patches/ is applied with the build stage's patch-package.
FROM node:26.12.1-bookworm-slim AS worker-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
COPY --from=build /app/node_modules/ /opt/build/node_modules/
COPY deploy/docker/apply-patches.mjs /opt/apply-patches.mjs
RUN npm ci --omit=dev --ignore-scripts --workspace @ibrest/worker --no-audit --no-fund \
 && node /opt/apply-patches.mjs /opt/build/node_modules/patch-package \
 && find node_modules \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) \
      -type f -delete \
 && rm -rf patches /opt/build && npm cache clean --force

FROM node:26.12.1-bookworm-slim AS sim-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
COPY --from=build /app/node_modules/ /opt/build/node_modules/
COPY deploy/docker/apply-patches.mjs /opt/apply-patches.mjs
RUN npm ci --omit=dev --ignore-scripts --workspace @ibrest/gateway-sim --no-audit --no-fund \
 && node /opt/apply-patches.mjs /opt/build/node_modules/patch-package \
 && find node_modules \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) \
      -type f -delete \
 && rm -rf patches /opt/build && npm cache clean --force

# ---- runtime root: node (debug symbols stripped: −33 MB, same code) and the shared libraries it links,
# users root/node/nobody, /tmp, /data. No shell, no npm, no package manager: nothing in a running container
# needs them, and what is not there cannot be used by an intruder. Identical in proxy.Dockerfile, so the
# three images share this layer.
FROM node:26.12.1-bookworm-slim AS runtime-root
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp /rootfs/data /rootfs/app \
 && strip -o /rootfs/usr/local/bin/node /usr/local/bin/node \
 && for lib in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp -L --parents "$lib" /rootfs/; done \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000::/app:/sbin/nologin\n' >/rootfs/etc/passwd \
 && printf 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >>/rootfs/etc/passwd \
 && printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >/rootfs/etc/group \
 && chmod 1777 /rootfs/tmp \
 && chown 1000:1000 /rootfs/data \
 && rm -rf /var/lib/apt/lists/*

FROM scratch AS runtime
COPY --from=runtime-root /rootfs/ /
ENV PATH=/usr/local/bin \
    NODE_ENV=production
WORKDIR /app

# ---- sim: the simulated IB Gateway (TWS API on 4002). For demos and tests without an IB account.
FROM runtime AS sim
COPY --from=sim-deps /app/ ./
COPY --from=build /out/packages/ packages/
USER node
EXPOSE 4002
STOPSIGNAL SIGTERM
# The TWS API port has no HTTP endpoint; a TCP connect is what "the gateway is up" means to a worker.
HEALTHCHECK --interval=10s --timeout=10s --retries=3 \
  CMD ["node", "-e", "require('node:net').connect(4002,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]
CMD ["node", "packages/gateway-sim/dist/src/main.js", "--port", "4002", "--host", "0.0.0.0"]

# ---- worker (default target)
FROM runtime AS worker
# A worker has no TLS or API keys; in a container it listens on the private network behind the proxy, which
# is the one published entry point (docker-compose.yml publishes no worker port).
# The order journal and audit log live in DATA_DIR (/data, owned by node: a named volume mounted there
# inherits that ownership).
ENV HOST=0.0.0.0 \
    IBREST_INSECURE=true \
    DATA_DIR=/data
COPY --from=worker-deps /app/ ./
COPY --from=build /out/packages/ packages/
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
USER node
# PORT defaults to 5000 + IB_CLIENT_ID, so worker N listens on 500N.
EXPOSE 5000 5001 5002 5003 5004 5005 5006 5007
# The worker drains in-flight requests and disconnects from IB cleanly on SIGTERM. Run it with an init
# (compose `init: true`, `docker run --init`) so signals reach node and not PID 1's default handling.
STOPSIGNAL SIGTERM
# Liveness, not readiness: a worker whose gateway is down (daily restart) is alive and reconnecting,
# and the proxy already routes on /health/ready. Restarting the container would not bring IB back.
# No --start-period here (dockerfilelint 1.8 rejects the flag); docker-compose.yml sets start_period.
HEALTHCHECK --interval=10s --timeout=10s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "/health/live", "worker"]
CMD ["node", "packages/worker/dist/src/main.js"]
