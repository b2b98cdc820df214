# One image for every tke-eni program: tke-eni-agent, tke-eni-ipamd, tke-eni-ip-scheduler (and tke-eni-sim).
# The manifests pick the program with `command:`. Build from the repository root:
#   docker build -t tke-eni:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the package and its pinned dependencies into a virtualenv ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tke-eni
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml setup.py README.md ./
COPY eni/ eni/
COPY cmd/ cmd/
# pip compiles the bytecode here: the containers run with a read-only root filesystem.
RUN /opt/tke-eni/bin/pip install .

# --- runtime: the interpreter, the virtualenv and an unprivileged user ---------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="tke-eni" \
      org.opencontainers.image.description="VPC-native container networking for Kubernetes on Tencent Cloud" \
      org.opencontainers.image.licenses="Apache-2.0"
# ipamd and the scheduler extender run as this user; the agent's DaemonSet runs the same image as root
# (privileged) because it configures the node's network and writes the CNI plugins into /opt/cni/bin.
RUN groupadd --system --gid 65532 tke-eni \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tke-eni
COPY --from=build /opt/tke-eni /opt/tke-eni
ENV PATH=/opt/tke-eni/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
CMD ["tke-eni-ipamd", "--help"]
