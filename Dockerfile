# The Bounce Desk dashboard (and the CLI, for the jobs runner and migrations) in one image.
#   docker build -t bouncedesk .                        (base: the official Python slim image)
#   docker build --build-arg BASE_IMAGE=IMAGE -t bouncedesk .   (any Debian-like image with
#   python3 and python3-venv, e.g. one made by deploy/container/local-base.sh)
# Without sign-in ([auth] in .streamlit/secrets.toml) the container serves only its own
# loopback address (docs/deploy.md): mount secrets.toml, or run with --network host and
# STREAMLIT_SERVER_ADDRESS=127.0.0.1 for one person on the host itself.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Only the pinned requirements first: this layer is rebuilt when they change, not the code.
COPY requirements-core.txt requirements.txt constraints.txt ./
RUN python3 -m venv /opt/bouncedesk \
 && /opt/bouncedesk/bin/pip install --quiet --upgrade pip \
 && /opt/bouncedesk/bin/pip install --quiet --only-binary=:all: -r requirements.txt -c constraints.txt

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 bouncedesk \
 && useradd --system --uid 10001 --gid bouncedesk --home-dir /app --shell /usr/sbin/nologin bouncedesk \
 && mkdir -p /data \
 && chown bouncedesk:bouncedesk /data \
 && printf '#!/bin/sh\nexec /opt/bouncedesk/bin/python -m core "$@"\n' > /usr/local/bin/bouncedesk \
 && chmod 0755 /usr/local/bin/bouncedesk
COPY --from=build /opt/bouncedesk /opt/bouncedesk
WORKDIR /app
# The code is owned by root and read-only to the service user; it writes only to /data.
COPY dashboard.py ./
COPY .streamlit/config.toml .streamlit/config.toml
COPY core core
COPY ui ui
COPY pages pages
COPY emulator emulator
COPY deploy/container/start.py deploy/container/start.py
ENV PATH=/opt/bouncedesk/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    BOUNCEDESK_DATABASE_URL=sqlite:////data/bouncedesk.db \
    BOUNCEDESK_DEMO=false \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501
USER bouncedesk
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('STREAMLIT_SERVER_PORT', '8501'), timeout=4)"]
CMD ["python", "deploy/container/start.py"]
