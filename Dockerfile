# The one image both Helm charts run (charts/pipechaos, charts/pipechaos-reference):
#   - the runner: `pipechaos run ...` (CronJob of charts/pipechaos);
#   - the reference services and consumers: `python -m targets.reference.<module>`;
#   - the broker: targets.reference.broker execs the redis-server installed here;
#   - the proxy server: `pipechaos proxy --host 0.0.0.0 --config /config/toxiproxy.json`.
# `tini -g` is PID 1 so pod.pause can SIGSTOP the program (a signal sent from inside a
# container to its PID 1 is ignored for SIGSTOP).
# The image contains `kill` and `cat` (procps, coreutils) for pods/exec. It runs as uid
# 10001 with a read-only root filesystem: the charts mount /tmp and the data directories.
# Nothing in the tests builds it:   docker build -t pipechaos:0.1.0 .
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server tini procps \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/pipechaos
COPY pyproject.toml README.md ./
COPY chaos ./chaos
COPY targets ./targets
COPY experiments ./experiments
# Writable for the unprivileged user, the code stays root-owned: runs/<run id>/ under the
# working directory (`docker run`: mount a volume at /opt/pipechaos/runs to keep runs), and
# the charts' data directories (/var/lib/pipechaos: the runner's runs, the services' files;
# /data: redis), which the charts mount as volumes.
RUN pip install --no-cache-dir . \
    && useradd --uid 10001 --user-group --create-home pipechaos \
    && mkdir -p /opt/pipechaos/runs /var/lib/pipechaos /data \
    && chown 10001:10001 /opt/pipechaos/runs /var/lib/pipechaos /data
VOLUME /opt/pipechaos/runs
# targets/ (the reference services) is imported from the source tree, whatever the cwd
ENV PYTHONPATH=/opt/pipechaos PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
USER 10001:10001
# `docker run IMAGE run experiments/consumer-kill.yaml` runs pipechaos under tini; the
# charts give each container its full command (tini -g -- python -m ... / pipechaos ...).
ENTRYPOINT ["tini", "-g", "--", "pipechaos"]
CMD ["--help"]
