#
# ibrest proxy: the single entry point (TLS, API keys, routing to the workers, health, metrics).
#
#   docker build -f proxy.Dockerfile -t ibrest-proxy .
#
# Build context: the repository root (see .dockerignore). No `# syntax=` line: nothing here needs a BuildKit
# frontend newer than the builder's own, and the classic builder builds this file too.

# ---- manifests: only the package.json files, the lock file and patches/ (patch-package's input), so the
# dependency layers below are rebuilt when dependencies change, not on every source edit.
FROM node:26.12.1-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name node_modules -prune -o -name package.json -print | xargs cp --parents -t /manifests \
 && if [ -d patches ]; then cp -r patches /manifests/; fi

# ---- build: the root's build tools (TypeScript, Node's types, patch-package) and the proxy's dependencies,
# not every workspace's test tools. Tests are not compiled (they do not ship).
# Install scripts are skipped (the root's postinstall would run patch-package over packages this build does not
# install); deploy/docker/apply-patches.mjs applies the patches of those it does.
FROM node:26.12.1-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
COPY deploy/docker/apply-patches.mjs /opt/apply-patches.mjs
RUN npm ci --ignore-scripts --workspace @ibrest/proxy --include-workspace-root --no-audit --no-fund \
 && node /opt/apply-patches.mjs node_modules/patch-package
COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
RUN node -e "for (const p of process.argv.slice(1)) { const f = p + '/tsconfig.json'; \
      const c = JSON.parse(fs.readFileSync(f, 'utf8')); c.include = c.include.filter((i) => !/^test\b/.test(i)); \
      fs.writeFileSync(f, JSON.stringify(c)); }" packages/* \
 && npx tsc --build packages/proxy \
 && mkdir -p /out \
 && for d in packages/*/dist; do cp -r --parents "$d" /out/; done \
 && find /out -name '*.d.ts' -delete -o -name '*.d.ts.map' -delete -o -name .tsbuildinfo -delete

# ---- production dependencies of the proxy only. Lifecycle scripts are skipped (no package needs one);
# patches/ is applied with the build stage's patch-package.
FROM node:26.12.1-bookworm-slim AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
COPY --from=build /app/node_modules/ /opt/build/node_modules/
COPY deploy/docker/apply-patches.mjs /opt/apply-patches.mjs
RUN npm ci --omit=dev --ignore-scripts --workspace @ibrest/proxy --no-audit --no-fund \
 && node /opt/apply-patches.mjs /opt/build/node_modules/patch-package \
 && find node_modules \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) \
      -type f -delete \
 && rm -rf patches /opt/build && npm cache clean --force

# ---- runtime root: node (debug symbols stripped: −33 MB, same code) and the shared libraries it links,
# users root/node/nobody, /tmp, /data. No shell, no npm, no package manager: nothing in a running container
# needs them, and what is not there cannot be used by an intruder. Identical in worker.Dockerfile, so the
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

FROM runtime AS proxy
# V8 heap bounds: RSS stays under 100 MB under load (live heap ≈ 12 MB); see bench/README.md "Fixes".
# DATA_DIR (/data, owned by node) keeps the generated self-signed certificate (and anything else the proxy
# persists) across restarts; a named volume mounted there inherits that ownership.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128" \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
COPY --from=deps /app/ ./
COPY --from=build /out/packages/ packages/
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
USER node
EXPOSE 8080
# The proxy stops accepting, lets in-flight requests finish and exits on SIGTERM. Run it with an init
# (compose `init: true`, `docker run --init`) so signals reach node and not PID 1's default handling.
STOPSIGNAL SIGTERM
# Liveness of the proxy itself. Whether workers are ready is the proxy's own business (it answers 503
# for what it cannot route); restarting the proxy would not make a worker ready.
# No --start-period here (dockerfilelint 1.8 rejects the flag); docker-compose.yml sets start_period.
HEALTHCHECK --interval=10s --timeout=10s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "/health/live", "8080"]
CMD ["node", "packages/proxy/dist/src/main.js"]
