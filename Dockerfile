# Quartermaster: a multi-stage, non-root image. Build: docker build -t quartermaster .
# Runs the supervisor command (node bin/quartermaster.mjs start) directly, so `docker stop` (SIGTERM) reaches
# Quartermaster itself and it shuts down cleanly; `npm start` would not pass the signal on reliably.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The postinstall (scripts/prisma.mjs generate) needs the Prisma schema and config, so copy them first.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci
COPY . .
# The sources arrive after npm ci, so bundle them now (the postinstall skipped it): bin runs dist/app.
RUN node scripts/build.mjs
# The start path needs only runtime dependencies (tsx, prisma and the adapters are among them).
RUN npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=file:/app/data/quartermaster.db
WORKDIR /app
# The code belongs to root and is read-only for the service; only /app/data (the SQLite default) is writable.
COPY --from=build /app /app
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE 3000
# curl is not in the slim image: ask /healthz with Node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/quartermaster.mjs", "start"]
