# syntax=docker/dockerfile:1
# Build: docker build -t cartback .
# Run:   docker run -p 8080:8080 -v cartback-data:/data cartback

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO off: a fully static binary that runs on an image with no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cartback ./cmd/cartback \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cartback /usr/local/bin/cartback
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV CARTBACK_ADDR=:8080 \
    CARTBACK_DB=/data/cartback.db
USER nonroot:nonroot
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/cartback"]
