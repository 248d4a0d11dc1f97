# Berth container image: one static binary on an empty (scratch) base.
#
#   docker build -t berth .            # or: buildah build -t berth .
#   docker run -d -p 5000:5000 -v berth-data:/data/registry --name berth berth
#   docker logs berth                  # shows the generated admin password once
#
# The final stage holds only /berth, a CA bundle, /etc/passwd, /etc/group,
# /etc/hosts and the default config /etc/berth/config.yaml (no shell, no
# package manager). It runs as the unprivileged user berth (65532:65532).
# packaging/Dockerfile.local builds the same final stage from an already built
# binary (no network needed); tests/e2e/image_test.sh checks it.

# ---------------------------------------------------------------- builder ---
FROM debian:bookworm AS builder

# The build packages are BUILD_PACKAGES in scripts/lib.sh; ca-certificates is
# only here to be copied into the final stage.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config libboost1.81-dev libboost-url1.81-dev libssl-dev \
      libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libcrypt-dev libsqlite3-dev \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Only what the binary is built from (tests and benchmarks are off), so the
# local build/ directories never reach the builder.
WORKDIR /src
COPY CMakeLists.txt ./
COPY src/ ./src/

RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" \
 && strip /build/berth \
 && ldd /build/berth 2>&1 | grep -q 'not a dynamic executable' \
 && /build/berth version \
 && mkdir -p /out/data/registry

# ------------------------------------------------------------------ final ---
FROM scratch

# etc/passwd, etc/group (user berth 65532), etc/hosts, etc/berth/config.yaml
COPY packaging/rootfs/ /
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /build/berth /berth
# scratch has no mkdir: an empty directory from the builder becomes the data
# directory, owned by the unprivileged user so a fresh named volume (which
# copies this directory's owner) is writable.
COPY --from=builder --chown=65532:65532 /out/data/registry/ /data/registry/

LABEL org.opencontainers.image.title="Berth" \
      org.opencontainers.image.description="Container registry (OCI Distribution) with a built-in Docker token server, in one static binary"

ENV CONFIG_PATH=/etc/berth/config.yaml
USER 65532:65532
EXPOSE 5000
VOLUME /data/registry
ENTRYPOINT ["/berth", "serve"]
