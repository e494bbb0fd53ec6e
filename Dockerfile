# Slipway's worker and API (the same image; the command picks which).
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
ENV NODE_ENV=production SLIPWAY_CONFIG=/etc/slipway/slipway.yaml
USER node
CMD ["npm", "run", "worker"]
