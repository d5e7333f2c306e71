# syntax=docker/dockerfile:1
# The image compose.yaml runs: the wheel of this checkout installed into a slim Python,
# run as a non-root user, `royalty` as the entrypoint. Build: docker build -t royalty-ledger .

ARG PYTHON=3.11

# Stage 1: wheels for the project and every dependency. The compiler is here only for a
# dependency without a binary wheel for the platform; it never reaches the runtime.
FROM python:${PYTHON}-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY workers workers
COPY migrations migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Stage 2: the runtime, installed from those wheels only (no index, nothing built).
FROM python:${PYTHON}-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels royalty-ledger
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/royalty royalty
USER royalty
WORKDIR /home/royalty
ENV ROYALTY_HOME=/home/royalty/.royalty
# Exec form: `royalty` is PID 1, receives SIGTERM from `docker stop` and names its Celery
# node royalty-1@<hostname> (the worker's health check in compose.yaml pings that node).
ENTRYPOINT ["royalty"]
CMD ["--help"]
