# harness itself, for Jenkins and any CI without a Python setup step:
#   docker build -t harness .
#   docker run --rm -v "$PWD:/repo:ro" harness verify --repo /repo --scope repository --gate pass
# Built on the same dated Debian base as the reference project's lab, so `harness lab up` (which
# bootstraps that tag from Debian's packages when it is missing) makes it build with no registry.
FROM debian:bookworm-20250520-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# EXTRAS="live" adds the live checks' dependencies; the default image holds the repository checks only.
ARG EXTRAS=""
# Dependencies first, from the metadata alone (a stub package), so a code change reuses this layer.
COPY pyproject.toml README.md /src/
RUN mkdir /src/harness && touch /src/harness/__init__.py \
 && python3 -m venv /opt/harness \
 && /opt/harness/bin/pip install --no-cache-dir --disable-pip-version-check "/src${EXTRAS:+[$EXTRAS]}" \
 && rm -rf /src/build /src/*.egg-info /src/harness
COPY harness /src/harness
RUN /opt/harness/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --force-reinstall /src

FROM debian:bookworm-20250520-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/harness /opt/harness
ENV PATH=/opt/harness/bin:$PATH PYTHONDONTWRITEBYTECODE=1
# A mounted repository belongs to another user: git must still read it (read-only, never its hooks).
RUN git config --system --add safe.directory '*'
USER 10001:10001
WORKDIR /repo
ENTRYPOINT ["harness"]
CMD ["verify", "--repo", "/repo", "--scope", "repository", "--out", "/tmp/harness-report"]
