# Metrics, rules and console visualisations, from Debian's prometheus package.
FROM debian:bookworm-20250520-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
COPY httpcheck.sh /usr/local/bin/httpcheck
COPY prometheus.yml /etc/prometheus/prometheus.yml
COPY rules/ /etc/prometheus/rules/
COPY consoles/ /etc/prometheus/consoles/
COPY console_libraries/ /etc/prometheus/console_libraries/
RUN ["promtool", "check", "config", "/etc/prometheus/prometheus.yml"]
USER prometheus
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["httpcheck", "9090", "/-/ready"]
CMD ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--storage.tsdb.retention.time=15d", "--web.enable-lifecycle", \
     "--web.console.templates=/etc/prometheus/consoles", "--web.console.libraries=/etc/prometheus/console_libraries"]

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="prometheus" \
      org.opencontainers.image.description="Prometheus for the task tracker" \
      org.opencontainers.image.base.name="debian:bookworm-20250520-slim" \
      org.opencontainers.image.revision=$GIT_SHA
