# syntax=docker/dockerfile:1
# UIS OMNI, production image (README.md, "Deploying"): `docker build -t uis-omni .`
# Stages: deps (toolchain + manifests) → build (npm ci, npm run build) and prod-deps (npm ci
# --omit=dev) → runtime (production packages, build/ and dist/ only; non-root; HEALTHCHECK).
# test/unit/deploy-files.test.ts keeps this file in step with package.json and the compose example.
ARG NODE_VERSION=20.19

FROM node:${NODE_VERSION}-bookworm-slim AS deps
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM deps AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=file:/data/omni.db
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/build ./build
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# the heap flags of `npm run serve` (docs/deploying.md#memory): a small young generation, an old one grown by half over what lives
CMD ["node", "--enable-source-maps", "--max-semi-space-size=2", "--heap-growing-percent=50", "build/serve.js"]
