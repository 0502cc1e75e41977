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
RUN useradd --uid 10001 --create-home pipechaos
USER 10001
ENTRYPOINT ["pipechaos"]
CMD ["--help"]
