# syntax=docker/dockerfile:1
# The genre-classifier image: the compiled CLI with its production dependencies, run as a non-root
# user. The entrypoint is the CLI, so the image runs any command:
#   docker run IMAGE                       serve on 0.0.0.0:8080 (the default command)
#   docker run IMAGE worker --health-port 8080
#   docker run IMAGE scheduler --health-port 8080
#   docker run IMAGE flows run daily-inference --wait
# Configuration comes from GENRE_CLASSIFIER_* environment variables (docs/configuration.md);
# compose.yaml wires a whole installation, docs/deployment.md describes it.
# test/deploy/container.test.ts checks this file against the CLI and the configuration.

# Any Debian-based Node.js 20 or newer image (the runtime stage uses groupadd and useradd).
ARG NODE_IMAGE=node:20-bookworm-slim

# Compiles src/ to dist/ with the development dependencies (TypeScript). Install scripts are
# skipped: the compiler needs none, and the package's own `prepare` would build before src/ is here.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies alone. better-sqlite3 is the one native module: its install script
# downloads a prebuilt binary for this Node.js and platform, or compiles it with the tools below.
FROM ${NODE_IMAGE} AS production-dependencies
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    GENRE_CLASSIFIER_DATA_DIR=/data \
    GENRE_CLASSIFIER_LOG_FORMAT=json
RUN groupadd --system --gid 10001 genre-classifier \
 && useradd --system --uid 10001 --gid genre-classifier --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin genre-classifier \
 && mkdir -p /data \
 && chown genre-classifier:genre-classifier /data
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER 10001:10001
# Local data: caches, and the SQLite database and object store folder when no server is configured.
VOLUME ["/data"]
# serve's port (server.port), and the port compose gives worker and scheduler with --health-port.
EXPOSE 8080
# Liveness: the process answers /healthz (serve, or worker and scheduler started with
# --health-port 8080). Node's fetch, since the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/genre-classifier.js"]
CMD ["serve", "--host", "0.0.0.0"]
