# One image for every service; docker-compose.yml picks the service with `command`.
#
# Two stages: the builder installs the runtime lock (requirements/runtime.lock: what the
# services import, nothing of the test or dev sets: no pytest, Playwright, schemathesis, ruff
# or scipy) into a venv, with a compiler for any package that has no wheel; the final stage
# copies only that venv onto a clean slim base.  bench/image_size.py reports the set's size.
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements/runtime.lock /tmp/runtime.lock
RUN /opt/venv/bin/pip install -r /tmp/runtime.lock

FROM python:3.11-slim

# MALLOC_*: what the manager gives its services (shared/supervisor/spec.py).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    MALLOC_TRIM_THRESHOLD_=1048576 \
    MALLOC_ARENA_MAX=2 \
    BIND_HOST=0.0.0.0 \
    DATABASE_PATH=/data/db/trading.db \
    LOG_DIR=/data/logs

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY . .
RUN useradd --create-home --uid 1000 trader \
    && mkdir -p /data/db /data/logs \
    && chown -R trader /data
USER trader
VOLUME ["/data"]
EXPOSE 5000 5001 5002 5003 5005 5006 5008 5009 5010

# Without compose, the image runs the whole suite under the manager.
CMD ["python", "hybrid_manager.py", "start"]
