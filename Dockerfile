# One image for every service; docker-compose.yml picks the service with `command`.
FROM python:3.11-slim

# MALLOC_*: what the manager gives its services (shared/supervisor/spec.py).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_TRIM_THRESHOLD_=1048576 \
    MALLOC_ARENA_MAX=2 \
    BIND_HOST=0.0.0.0 \
    DATABASE_PATH=/data/db/trading.db \
    LOG_DIR=/data/logs

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 1000 trader \
    && mkdir -p /data/db /data/logs \
    && chown -R trader /data
USER trader
VOLUME ["/data"]
EXPOSE 5000 5001 5002 5003 5005 5006 5008 5009 5010

# Without compose, the image runs the whole suite under the manager.
CMD ["python", "hybrid_manager.py", "start"]
