# The bulkdl image: the static release binary on distroless, which has CA
# certificates, /etc/passwd with a nonroot user, and nothing else (no shell).
# GoReleaser builds it at release (.goreleaser.yaml, dockers): the build
# context holds the linux binary it built, named bulkdl.
#
#   docker run --rm -v "$PWD:/work" -w /work ghcr.io/bulkdl/bulkdl:1 run manifest.toml
FROM gcr.io/distroless/static-debian12:nonroot
COPY bulkdl /usr/local/bin/bulkdl
USER nonroot:nonroot
ENTRYPOINT ["bulkdl"]
CMD ["help"]
