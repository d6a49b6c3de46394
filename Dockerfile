# dicom-mcp: the MCP service, listening on 0.0.0.0:8000 inside the container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --no-create-home dicom-mcp

USER 10001
# Inside the container the service must bind all interfaces; the Host header check still applies,
# so set DICOM_MCP_ALLOWED_HOSTS to the name clients use (the compose file and manifests do).
ENV DICOM_MCP_HOST=0.0.0.0 \
    DICOM_MCP_PORT=8000
EXPOSE 8000
# The check reads DICOM_MCP_PORT, so `docker run -e DICOM_MCP_PORT=...` moves it along with the service.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('DICOM_MCP_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["dicom-mcp"]
CMD ["--transport", "http"]
