# The Sluice image (docs/DEPLOYING.md):
#
#   docker build -t sluice:0.1.0 .
#   docker run --stop-timeout 45 -v /etc/sluice:/etc/sluice:ro \
#       -v sluice-state:/var/lib/sluice -p 9187:9187 sluice:0.1.0
#
# The development machines and CI have no container engine, so this file is
# reviewed by reading; tests/integration/deploy.rs checks what it can of it.

# Build: librdkafka is compiled from source by rdkafka-sys (features ssl and
# libz), which needs the packages of scripts/lib/install.sh's
# _sluice_install_build_deps. The rust image has most of them already;
# naming them keeps the build independent of what it happens to ship.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config zlib1g-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sluice \
    && install -m 0755 target/release/sluice /usr/local/bin/sluice

# Runtime: only the shared libraries the binary links (OpenSSL and zlib, for
# librdkafka) and the CA certificates TLS connections verify against.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid, so Kubernetes' runAsNonRoot can check it and a state volume
# keeps the same owner across image versions.
RUN groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid sluice --no-create-home \
        --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
    && mkdir -p /etc/sluice /var/lib/sluice \
    && chown sluice:sluice /var/lib/sluice \
    && chmod 0700 /var/lib/sluice
COPY --from=build /usr/local/bin/sluice /usr/local/bin/sluice

# The checkpoint lives here: it must outlive the container. Relative paths
# in the config ([state] dir = "state", [plugins] dir = "plugins") land on
# the volume too.
VOLUME ["/var/lib/sluice"]
WORKDIR /var/lib/sluice
# The metrics and health endpoints listen on loopback unless told otherwise,
# which a container cannot be scraped on.
ENV SLUICE_HTTP_LISTEN=0.0.0.0:9187
EXPOSE 9187
USER 10001:10001
# Sluice drains for up to 30 s on SIGTERM: give it 45 (docker stop -t 45,
# or --stop-timeout 45 on docker run; Kubernetes:
# terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
ENTRYPOINT ["sluice"]
CMD ["run", "--config", "/etc/sluice/sluice.toml"]
