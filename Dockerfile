# One image for the API and the analysis workers.
#   API:    docker run IMAGE ecghub serve --host 0.0.0.0 --workers 2
#   worker: docker run -e ECGHUB_WORKER_MODE=broker IMAGE ecghub worker
# Not built in CI: no Docker engine runs on the development machines.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ECGHUB_VAR_DIR=/var/lib/ecghub PYTHONPATH=/srv/ecghub

RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
ENV MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /srv/ecghub
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY ecg ./ecg
COPY storage ./storage
COPY alembic ./alembic
RUN pip install . && useradd --system --home /var/lib/ecghub ecghub \
    && mkdir -p /var/lib/ecghub && chown ecghub /var/lib/ecghub

USER ecghub
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["ecghub", "serve", "--host", "0.0.0.0", "--port", "8000"]
