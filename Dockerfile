# The runner image (for the Kubernetes platform and CronJobs). Nothing in the tests builds it.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/pipechaos
COPY pyproject.toml README.md ./
COPY chaos ./chaos
COPY targets ./targets
COPY experiments ./experiments
RUN pip install --no-cache-dir .
# The runner writes runs/<run id>/ under its working directory: that one folder belongs to
# the unprivileged user (mount a volume there to keep runs); the code stays root-owned.
RUN useradd --uid 10001 --create-home pipechaos \
    && mkdir -p /opt/pipechaos/runs && chown 10001:10001 /opt/pipechaos/runs
VOLUME /opt/pipechaos/runs
USER 10001
ENTRYPOINT ["pipechaos"]
CMD ["--help"]
