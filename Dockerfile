# Turnout: an edge proxy container. Multi-stage: build with dev dependencies, run with production
# dependencies only, as a non-root user. (Not built on the development machines: they have no
# Docker engine. Kept simple and checked by reading.)

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc* ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are in.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

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
# only when the config says so (config/turnout.compose.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9901/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# --max-semi-space-size=8: the same Node flag as `npm start`, chosen with `npm run bench:soak`
# (README, "Memory that levels off"): Node's default lets the young generation grow to 128 MB
# under load, and RSS kept climbing; capped at 2 × 8 MB it levels off.
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/cli.js"]
CMD ["serve", "--config", "/app/config/turnout.compose.yaml"]
