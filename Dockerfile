# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run the compiled JS with production ones only.
# Node 22, the active LTS line (Node 20 reached end of life in April 2026); the code itself still
# runs on Node >= 20 for development (package.json engines).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The demo page; the build adds its esbuild bundles under public/build.
COPY public ./public
# The server and the page; the Lambda bundles (build:lambda) have no place in the image.
RUN npm run build:server && npm run build:web && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/public ./public
# The official image's unprivileged user.
USER node
EXPOSE 3000
# Liveness only (/healthz); readiness (/readyz) is for the load balancer, see fly.toml.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# server.ts drains on SIGTERM (SHUTDOWN_TIMEOUT_MS) before exiting.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server.js"]
