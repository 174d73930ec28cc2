# Alert grouping and routing, from Debian's prometheus-alertmanager package.
FROM debian:bookworm-20250520-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-alertmanager \
 && rm -rf /var/lib/apt/lists/*
COPY httpcheck.sh /usr/local/bin/httpcheck
COPY alertmanager.yml /etc/alertmanager/alertmanager.yml
RUN ["amtool", "check-config", "/etc/alertmanager/alertmanager.yml"]
USER prometheus
EXPOSE 9093
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["httpcheck", "9093", "/-/ready"]
# One replica: no cluster gossip port. Silences and notification state live on the /tmp tmpfs.
CMD ["prometheus-alertmanager", "--config.file=/etc/alertmanager/alertmanager.yml", \
     "--storage.path=/tmp/alertmanager", "--cluster.listen-address=", "--web.listen-address=:9093"]

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="alertmanager" \
      org.opencontainers.image.description="Alertmanager for the task tracker" \
      org.opencontainers.image.base.name="debian:bookworm-20250520-slim" \
      org.opencontainers.image.revision=$GIT_SHA
