# syntax=docker/dockerfile:1.7
# One Dockerfile, one target per image: tracker, receipts, chainwriter,
# gateway (with the dashboard), migrate (the schema Job) and deploy (the
# contracts Job of the local overlay). Build one with
#   docker build --target tracker -t pbts/tracker:dev .
# deploy/dockerfile_test.go parses this file and builds the same Go targets
# with the same flags (no Docker engine runs on the CI machines).

ARG GO_IMAGE=golang:1.26.8-bookworm
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG STATIC_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG BASE_IMAGE=gcr.io/distroless/base-debian12:nonroot

# ---- sources, with the module cache filled from the go.mod files alone
FROM ${GO_IMAGE} AS go-src
WORKDIR /src
COPY go.work go.work.sum go.mod go.sum ./
COPY services/tracker/go.mod services/tracker/go.sum ./services/tracker/
COPY services/receipts/go.mod services/receipts/go.sum ./services/receipts/
COPY services/chainwriter/go.mod services/chainwriter/go.sum ./services/chainwriter/
COPY services/gateway/go.mod services/gateway/go.sum ./services/gateway/
COPY deploy/go.mod deploy/go.sum ./deploy/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .

# ---- pure-Go services: static binaries, no libc
FROM go-src AS build-static
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ ./services/tracker/cmd/tracker ./services/chainwriter/cmd/chainwriter ./services/gateway/cmd/gateway ./cmd/migrate ./cmd/deploy

# ---- receipts keeps cgo: go-ethereum's crypto.Ecrecover then runs
# libsecp256k1 (compiled from the C sources go-ethereum carries), several
# times faster than the pure-Go fallback, and recovering each receipt's
# signer is the service's hot path. Its image therefore needs glibc (distroless/base).
FROM go-src AS build-receipts
ENV CGO_ENABLED=1
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ ./services/receipts/cmd/receipts

# ---- the dashboard
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- runtime images: distroless (no shell, no package manager), non-root
FROM ${STATIC_IMAGE} AS tracker
COPY --from=build-static /out/tracker /usr/local/bin/tracker
USER 65532:65532
EXPOSE 7001 7070 9101
ENTRYPOINT ["/usr/local/bin/tracker"]

FROM ${BASE_IMAGE} AS receipts
COPY --from=build-receipts /out/receipts /usr/local/bin/receipts
USER 65532:65532
EXPOSE 7002 9102
ENTRYPOINT ["/usr/local/bin/receipts"]

FROM ${STATIC_IMAGE} AS chainwriter
COPY --from=build-static /out/chainwriter /usr/local/bin/chainwriter
USER 65532:65532
EXPOSE 7003 9103
ENTRYPOINT ["/usr/local/bin/chainwriter"]

FROM ${STATIC_IMAGE} AS gateway
COPY --from=build-static /out/gateway /usr/local/bin/gateway
COPY --from=web /web/dist /srv/dashboard
ENV PBTS_STATIC_DIR=/srv/dashboard
USER 65532:65532
EXPOSE 8080 7004 9104
ENTRYPOINT ["/usr/local/bin/gateway"]

FROM ${STATIC_IMAGE} AS migrate
COPY --from=build-static /out/migrate /usr/local/bin/migrate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/migrate"]

FROM ${STATIC_IMAGE} AS deploy
COPY --from=build-static /out/deploy /usr/local/bin/deploy
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/deploy"]
