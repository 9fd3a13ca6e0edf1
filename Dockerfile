# One image for every amiable service; the command picks the role:
#   docker run amiable:local serve claims      (the default)
#   docker run -e AMIABLE_PORT=8002 amiable:local serve risk
# Build from the repository root: docker build -t amiable:local .

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: resolve the locked dependencies into /app/.venv ----------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install uv==0.13.9

WORKDIR /app

# Third-party dependencies first, from the lock file alone: this layer is rebuilt only when
# uv.lock changes, not on every source edit. --frozen because the members' pyproject.toml files
# are not there yet (uv then trusts uv.lock as it is).
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package amiable-cli --no-install-workspace

# Then the workspace's own packages (libs/* and services/*), installed as real wheels rather
# than editable links, so the runtime stage needs nothing but the virtual environment.
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package amiable-cli --no-editable

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric user, so Kubernetes can check runAsNonRoot without looking it up.
RUN groupadd --system --gid 10001 amiable \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin amiable

# The venv holds the workspace packages (the sources of libs/ and services/) as installed
# wheels, bytecode already compiled: the container never writes to its root filesystem.
COPY --from=builder /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AMIABLE_HOST=0.0.0.0

WORKDIR /app
USER 10001:10001

# Each service listens on its declared port (claims 8001, risk 8002, dunning 8003,
# communications 8004, disputes 8005). The health check probes AMIABLE_PORT, 8001 when unset: set
# it when the container runs another service.
EXPOSE 8001 8002 8003 8004 8005

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AMIABLE_PORT', '8001'), timeout=4)"]

ENTRYPOINT ["amiable"]
CMD ["serve", "claims"]
