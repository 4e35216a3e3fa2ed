# syntax=docker/dockerfile:1
# Turnout: an edge proxy container. Multi-stage: build with dev dependencies, run with production
# dependencies only, as the non-root `node` user (uid 1000). Built and run on every CI run by
# scripts/container-check.sh (podman).
#
# Registry trust: a machine that reaches the npm registry only through its own TLS trust (a
# company proxy's CA, say) passes its npm config and CA bundle as build secrets, never baked
# into a layer:
#   podman build --secret id=npmrc,src=NPMRC --secret id=npm_ca,src=CA.pem .
# with `cafile=/run/secrets/npm_ca` in NPMRC (scripts/container-check.sh writes one from the
# host's npm config). Without them npm uses its defaults.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are in; the image's own
# Node 24 runs it (the `node` devDependency's installer is one of the scripts skipped).
RUN --mount=type=secret,id=npmrc --mount=type=secret,id=npm_ca \
    NPM_CONFIG_USERCONFIG=/run/secrets/npmrc npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc --mount=type=secret,id=npm_ca \
    NPM_CONFIG_USERCONFIG=/run/secrets/npmrc npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080 8081 9901
# The admin listener answers /healthz without a token; it binds 0.0.0.0 inside the container
# only when the config says so (config/turnout.compose.yaml). No --start-period: Turnout answers
# within a second, and dockerfilelint 1.8 misreads the option.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9901/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# --max-semi-space-size=8: the same Node flag as `npm start`, chosen with `npm run bench:soak`
# (README, "Memory that levels off"): Node's default lets the young generation grow to 128 MB
# under load, and RSS kept climbing; capped at 2 × 8 MB it levels off.
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/cli.js"]
CMD ["serve", "--config", "/app/config/turnout.compose.yaml"]
