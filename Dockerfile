# Slipway's worker and API (the same image; the command picks which).
# Build: TypeScript compiled to dist/. Run: node on the compiled code, no TypeScript tooling.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
# tini is the container's first process: `docker stop` sends it SIGTERM, it passes the signal to
# node, whose worker then drains (steps in flight finish), and it reaps what node started.
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client ca-certificates tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The operator console's static pages (/ui); its libraries come with npm ci.
COPY console ./console
# The credential store's mount point, owned by the user the worker runs as. Mount a volume
# here: a rotation refuses to start while the store is in the container's own layer.
RUN install -d -m 0700 -o node -g node /var/lib/slipway/credentials
ENV NODE_ENV=production SLIPWAY_CONFIG=/etc/slipway/slipway.yaml
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main/worker.js"]
