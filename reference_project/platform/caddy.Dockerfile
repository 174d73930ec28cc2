# TLS termination and load balancing, from Debian's caddy package.
FROM debian:bookworm-20250520-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends caddy \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown caddy:caddy /data
COPY httpcheck.sh /usr/local/bin/httpcheck
COPY Caddyfile /etc/caddy/Caddyfile
# /data keeps the internal CA and certificates (a volume); autosaved config goes to the /tmp tmpfs.
ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/tmp/caddy-config
# Go's collector at its default (GOGC=100) ran often enough under load to cost about a tenth of Caddy's CPU per
# request; 400 trades about 20 MB more heap for fewer cycles. GOMEMLIMIT (below the lab's 256 MB limit) makes it
# collect sooner rather than let the heap grow past that.
ENV GOGC=400 GOMEMLIMIT=160MiB
USER caddy
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["httpcheck", "8080", "/", "30[18]"]
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="caddy" \
      org.opencontainers.image.description="Caddy reverse proxy for the task tracker" \
      org.opencontainers.image.base.name="debian:bookworm-20250520-slim" \
      org.opencontainers.image.revision=$GIT_SHA
