# The denials service image: `denials worker` by default; `denials api`, `denials migrate` and the other commands
# run from the same image (see docker-compose.yml). Build: docker build -t denials .
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the distribution needs (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY topics ./topics
COPY agents ./agents
COPY service ./service
RUN python -m venv /opt/denials \
 && /opt/denials/bin/pip install . \
 && /opt/denials/bin/denials --help > /dev/null

FROM python:3.11-slim

ENV PATH=/opt/denials/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DENIALS_DATA_DIR=/var/lib/denials \
    DENIALS_LOG_FORMAT=json \
    DENIALS_API_HOST=0.0.0.0 \
    DENIALS_API_PORT=8080

# An unprivileged user owns nothing but the data directory (faust's local state); the code is read-only to it.
RUN groupadd --system --gid 10001 denials \
 && useradd --system --uid 10001 --gid denials --home-dir /home/denials --create-home --shell /usr/sbin/nologin denials \
 && mkdir -p /var/lib/denials \
 && chown denials:denials /var/lib/denials
COPY --from=build /opt/denials /opt/denials

USER denials:denials
WORKDIR /home/denials
EXPOSE 8080
# SIGTERM lets the worker drain in-flight batches (DENIALS_SHUTDOWN_DRAIN_S) before it exits.
STOPSIGNAL SIGTERM
CMD ["denials", "worker"]
