# syntax=docker/dockerfile:1.7
# One image for web (daphne), Celery worker and celery-beat; the command picks the role:
#   web:    daphne -b 0.0.0.0 -p 8000 hscjit.asgi:application   (the default; X-Forwarded-For is read by the app, TRUSTED_PROXY_COUNT)
#   worker: celery -A hscjit worker --loglevel INFO
#   beat:   celery -A hscjit beat --loglevel INFO
# A second target, `backup`, carries pg_dump/psql/redis-cli for deploy/scripts (CronJob, compose).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG POSTGRES_IMAGE=postgres:16.6-alpine3.21

# --- builder: dependencies into a venv (wheels only; no compiler reaches the runtime image) ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# pyproject alone first, so a code change does not reinstall every dependency.
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .

# --- static: collectstatic with the production storage (hashed, compressed for whitenoise) -----
FROM builder AS static
COPY . .
# collectstatic needs settings that load; this key exists only in this throw-away stage.
RUN DEBUG=0 SECURE=0 \
    SECRET_KEY=collectstatic-only-build-key-0123456789abcdefghijklmnopqrstuv \
    STATIC_ROOT=/static \
    python manage.py collectstatic --noinput

# --- backup: the tools deploy/scripts/backup.sh and restore.sh need, same major as the server --
FROM ${POSTGRES_IMAGE} AS backup
RUN apk add --no-cache bash coreutils gzip redis aws-cli
COPY deploy/scripts/backup.sh deploy/scripts/restore.sh /usr/local/bin/
RUN mkdir -p /backups && chown postgres:postgres /backups
USER postgres
WORKDIR /backups
ENV BACKUP_DIR=/backups
ENTRYPOINT ["/usr/local/bin/backup.sh"]

# --- runtime: the small image every Python service runs --------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=hscjit.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/var/lib/hscjit/media \
    PROMETHEUS_MULTIPROC_DIR=/tmp/hscjit-metrics
RUN groupadd --system --gid 10001 hscjit \
 && useradd --system --uid 10001 --gid hscjit --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin hscjit \
 && mkdir -p /var/lib/hscjit/media \
 && chown hscjit:hscjit /var/lib/hscjit/media
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code stays root-owned and read-only for the service user; only media and /tmp are writable.
COPY . .
# The Hebrew (and any other) catalogs, compiled from the committed .po files.
RUN pybabel -q compile -d locale -D django
COPY --from=static /static /app/staticfiles
USER 10001:10001
EXPOSE 8000
# Liveness of the web role; compose overrides it for the worker and beat roles.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["/app/deploy/docker/entrypoint.sh"]
# Daphne's own bounds (apps/devtools/processes.py DAPHNE_OPTIONS); the header timeout is the
# proxy's.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", \
     "--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536", \
     "--websocket_connect_timeout", "10", "--ping-interval", "20", "--ping-timeout", "30", \
     "--http-timeout", "120", "--application-close-timeout", "20", \
     "hscjit.asgi:application"]
