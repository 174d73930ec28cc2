# The task tracker's database, from Debian's postgresql-15 package; data lives on a named volume.
FROM debian:bookworm-20250520-slim
# The entrypoint creates the cluster on the volume, not the package's postinst.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/harness.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 openssl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data && chown -R postgres:postgres /var/lib/postgresql && chmod 700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/postgresql/data/pgdata
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=5s --timeout=3s --retries=5 CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-h", "/tmp", "-U", "postgres"]
STOPSIGNAL SIGINT
CMD ["postgres-entrypoint"]

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="postgres" \
      org.opencontainers.image.description="PostgreSQL 15 for the task tracker" \
      org.opencontainers.image.base.name="debian:bookworm-20250520-slim" \
      org.opencontainers.image.revision=$GIT_SHA
