# imgproxy: multi-stage build. The build stage compiles against libvips-dev;
# the runtime stage carries only the libvips shared libraries.
#   docker build -t imgproxy .
#   docker run --env-file imgproxy.env -p 8080:8080 -p 127.0.0.1:9090:9090 imgproxy
# (secrets in the env file, not on the command line; see the README).

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
RUN go build -trimpath \
      -ldflags "-s -w -X github.com/imgproxy-team/imgproxy/internal/cli.version=${VERSION}" \
      -o /out/imgproxy ./cmd/imgproxy

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin imgproxy \
 && mkdir -p /var/cache/imgproxy \
 && chown imgproxy /var/cache/imgproxy
COPY --from=build /out/imgproxy /usr/local/bin/imgproxy

# glibc gives every thread its own malloc arena; libvips' worker threads then
# keep freed memory in many arenas and the process only grows. Two arenas
# keep it bounded at a negligible cost in speed.
#
# The admin listener (metrics, purge, pprof; no authentication) binds every
# interface of the container: its loopback is not the host's, so the
# default 127.0.0.1 could not be reached even through a mapped port. Map it
# to the host's loopback only (-p 127.0.0.1:9090:9090); it is deliberately
# not EXPOSEd, so that -P does not publish it.
ENV MALLOC_ARENA_MAX=2 \
    IMGPROXY_SERVER_ADDR=:8080 \
    IMGPROXY_SERVER_ADMIN_ADDR=:9090 \
    IMGPROXY_CACHE_DISK_DIR=/var/cache/imgproxy
VOLUME /var/cache/imgproxy
USER imgproxy
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["imgproxy"]
CMD ["serve"]
