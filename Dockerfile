# hoplat on Debian bookworm: the collector, the agent, the CLI, and what the
# compose lab's routers and hosts run (iproute2, ping, iperf3), plus the
# module's sources and a compiler for the one-shot module loader.
FROM debian:bookworm
COPY . /src/hoplat
RUN /src/hoplat/scripts/install-deps.sh --userspace \
 && apt-get install -y -qq --no-install-recommends iproute2 iputils-ping iperf3 kmod gcc make \
      libc6-dev bc libelf-dev \
 && /src/hoplat/scripts/build.sh /build \
 && install -m 0755 /build/collector/hoplat-collector /build/agent/hoplat-agent \
      /build/tools/hoplat /build/tools/hoplat-demo-feed /usr/local/bin/ \
 && install -m 0755 /src/hoplat/docker/*.sh /usr/local/bin/ \
 && rm -rf /build /var/lib/apt/lists/*
EXPOSE 50051
CMD ["hoplat-collector", "--listen=0.0.0.0:50051", "--db=/var/lib/hoplat/hoplat.db"]
