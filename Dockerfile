# dicom-mcp: the MCP service, listening on 0.0.0.0:8000 inside the container.
# BASE is any image whose `python3` is Python 3.11 or newer with its venv module: the public Python
# image by default, or a Debian one with python3 and python3-venv (the container test builds on such
# a base, made from Debian packages). The service lives in a virtual environment, /opt/dicom-mcp,
# apart from whatever Python packages the base carries.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# pip reads these from the environment. To build without a package index, mount a folder of wheels
# into the build and pass PIP_NO_INDEX=1 and PIP_FIND_LINKS=<that folder>; it must hold setuptools
# and wheel too, which build this project.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python3 -m venv /opt/dicom-mcp \
    && /opt/dicom-mcp/bin/pip install --no-cache-dir .

# The image itself: the base and the virtual environment, without the sources or the build's files.
FROM ${BASE}
COPY --from=build /opt/dicom-mcp /opt/dicom-mcp
RUN useradd --system --uid 10001 --no-create-home dicom-mcp

USER 10001
# Inside the container the service must bind all interfaces; the Host header check still applies,
# so set DICOM_MCP_ALLOWED_HOSTS to the name clients use (the compose file and manifests do).
ENV PATH=/opt/dicom-mcp/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DICOM_MCP_HOST=0.0.0.0 \
    DICOM_MCP_PORT=8000
EXPOSE 8000
# The check reads DICOM_MCP_PORT, so `docker run -e DICOM_MCP_PORT=...` moves it along with the service.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('DICOM_MCP_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["dicom-mcp"]
CMD ["--transport", "http"]
