# Host CPU, memory and disk metrics, from Debian's prometheus-node-exporter package.
FROM debian:bookworm-20250520-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-node-exporter \
 && rm -rf /var/lib/apt/lists/*
COPY httpcheck.sh /usr/local/bin/httpcheck
USER prometheus
EXPOSE 9100
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["httpcheck", "9100", "/metrics"]
# The host's /proc and /sys are mounted read-only under /host.
CMD ["prometheus-node-exporter", "--path.procfs=/host/proc", "--path.sysfs=/host/sys", \
     "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)"]

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="node-exporter" \
      org.opencontainers.image.description="node-exporter for the task tracker's host" \
      org.opencontainers.image.base.name="debian:bookworm-20250520-slim" \
      org.opencontainers.image.revision=$GIT_SHA
