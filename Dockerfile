# hoplat userspace (collector, CLI, demo feed) on Debian bookworm.
FROM debian:bookworm
COPY . /src/hoplat
RUN /src/hoplat/scripts/install-deps.sh \
 && /src/hoplat/scripts/build.sh /build \
 && install -m 0755 /build/collector/hoplat-collector /build/tools/hoplat \
      /build/tools/hoplat-demo-feed /usr/local/bin/
EXPOSE 50051
CMD ["hoplat-collector", "--listen=0.0.0.0:50051", "--db=/var/lib/hoplat/hoplat.db"]
