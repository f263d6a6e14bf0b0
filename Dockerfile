# Duality's container image (docs/deploy.md, "The container image"):
#   docker build -t duality .      (or podman build / buildah bud)
# Three stages: `build` compiles the TypeScript, `deps` installs the production dependencies
# alone, and the runtime stage takes only what `duality` reads when it runs.
# test/helm/image.test.ts emulates these stages without an engine: it reads this file's COPY lines.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` (tsc) needs the sources, copied below; classic-level ships prebuilt binaries.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY bin/ bin/
COPY engine/ engine/
COPY operators/ operators/
COPY schema/ schema/
COPY server/ server/
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="duality" \
      org.opencontainers.image.description="Declarative stream processing on Kafka: topology.yaml in, Kafka Streams semantics out" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
# A numeric user, so that Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN groupadd --system --gid 10001 duality \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/duality --no-create-home --shell /usr/sbin/nologin duality \
 && mkdir -p /var/lib/duality /etc/duality \
 && chown 10001:10001 /var/lib/duality
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY bin/duality.js bin/
COPY schema/validators.cjs schema/
# The page at / (server/ui.ts reads these files as they are: no build step).
COPY server/ui/ server/ui/
COPY topologies/ topologies/
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /app/dist/bin/ dist/bin/
COPY --from=build /app/dist/engine/ dist/engine/
COPY --from=build /app/dist/operators/ dist/operators/
COPY --from=build /app/dist/schema/ dist/schema/
COPY --from=build /app/dist/server/ dist/server/
USER 10001:10001
VOLUME /var/lib/duality
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/duality.js"]
CMD ["run", "/etc/duality/topology.yaml", "--host", "0.0.0.0", "--port", "8080", "--state-dir", "/var/lib/duality"]
