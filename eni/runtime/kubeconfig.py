"""Where the API server is and how to authenticate to it, read without the official client.

Covers what a node agent meets: the in-cluster service account (``KUBERNETES_SERVICE_HOST``/``_PORT``, the
token file, which the kubelet rotates, and the CA bundle) and a kubeconfig file (server, certificate-authority
(-data), client-certificate(-data)/client-key(-data), token/tokenFile, username/password,
insecure-skip-tls-verify, tls-server-name, current-context or an explicit context). Credential plugins (``exec``,
``auth-provider``) and proxies are refused with a ``KubeConfigError`` telling the operator to use the official
client instead. The result is a frozen ``ClusterConfig`` of plain values; nothing here opens a connection.

This module never parses YAML itself (``eni.runtime`` imports only the standard library, kubernetes and
prometheus_client): ``load_kubeconfig`` takes the parser; JSON, which is also YAML, is the default.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where the kubelet mounts a pod's service-account token and the cluster's CA bundle."""

OFFICIAL_CLIENT_HINT = "run with the official Kubernetes client instead (ENI_KUBE_CLIENT=official)"


class KubeConfigError(ValueError):
    """The configuration is missing, malformed or needs something this loader does not do."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How to reach one API server. Secrets are inline bytes or file paths, never both for one item."""

    scheme: str
    """``https`` or ``http``."""
    host: str
    """A DNS name or an IP literal (without brackets)."""
    port: int
    base_path: str = ""
    """A path prefix of every request (a server URL such as ``https://lb/k8s``), without a trailing slash."""
    ca_file: str | None = None
    ca_data: bytes | None = None
    """PEM."""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    """The name checked in the server's certificate when it differs from ``host``."""
    client_cert_file: str | None = None
    client_cert_data: bytes | None = None
    client_key_file: str | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    """Re-read when it changes (the kubelet rotates projected service-account tokens)."""
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.scheme not in ("https", "http"):
            raise KubeConfigError(f"the server's scheme must be https or http, not {self.scheme!r}")
        if not self.host:
            raise KubeConfigError("the server has no host")
        if not 0 < self.port < 65536:
            raise KubeConfigError(f"the server's port {self.port} is out of range")
        if self.insecure_skip_tls_verify and (self.ca_file or self.ca_data):
            raise KubeConfigError("a certificate authority together with insecure-skip-tls-verify is contradictory")
        if (self.client_cert_file or self.client_cert_data) and not (self.client_key_file or self.client_key_data):
            raise KubeConfigError("a client certificate needs its client key")
        if (self.client_key_file or self.client_key_data) and not (self.client_cert_file or self.client_cert_data):
            raise KubeConfigError("a client key needs its client certificate")

    @property
    def server(self) -> str:
        """The server URL, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.base_path}"


def in_cluster_config(
    *, environ: Mapping[str, str] | None = None, service_account_dir: Path = SERVICE_ACCOUNT_DIR
) -> ClusterConfig:
    """The pod's own service account, as client-go's InClusterConfig reads it."""
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must "
                              "be set (or give a kubeconfig)")
    token_file = service_account_dir / "token"
    ca_file = service_account_dir / "ca.crt"
    for path in (token_file, ca_file):
        if not path.is_file():
            raise KubeConfigError(f"not running in a cluster: {path} is missing")
    return ClusterConfig(scheme="https", host=host.removeprefix("[").removesuffix("]"), port=_port(port, "port"),
                         ca_file=str(ca_file), token_file=str(token_file))


def load_kubeconfig(
    path: str | os.PathLike[str], *, context: str = "", parse: Callable[[str], Any] = json.loads
) -> ClusterConfig:
    """The cluster and user of ``context`` (default: current-context) of the kubeconfig at ``path``.

    Relative file references are resolved against the kubeconfig's folder, as kubectl does. ``parse`` turns
    the text into a mapping (pass ``yaml.safe_load`` for YAML files).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KubeConfigError(f"cannot read kubeconfig {os.fspath(path)}: {e}") from e
    try:
        document = parse(text)
    except Exception as e:  # the parser is the caller's: any failure is a malformed file
        raise KubeConfigError(f"kubeconfig {os.fspath(path)} is malformed: {e}") from e
    return kubeconfig_from_mapping(document, context=context, base_dir=Path(path).resolve().parent)


def kubeconfig_from_mapping(document: Any, *, context: str = "", base_dir: Path = Path(".")) -> ClusterConfig:
    """A parsed kubeconfig document as a ClusterConfig; see ``load_kubeconfig``."""
    if not isinstance(document, Mapping):
        raise KubeConfigError("a kubeconfig is a mapping")
    name = context or _text(document, "current-context", "the kubeconfig")
    if not name:
        raise KubeConfigError("the kubeconfig has no current-context; name a context")
    ctx = _named(document, "contexts", "context", name)
    cluster = _named(document, "clusters", "cluster", _text(ctx, "cluster", f"context {name!r}"))
    user_name = _text(ctx, "user", f"context {name!r}")
    user = _named(document, "users", "user", user_name) if user_name else {}
    return _cluster_config(cluster, user, base_dir=base_dir, where=f"context {name!r}")


def _cluster_config(cluster: Mapping[str, Any], user: Mapping[str, Any], *, base_dir: Path,
                    where: str) -> ClusterConfig:
    for key in ("exec", "auth-provider"):
        if user.get(key):
            raise KubeConfigError(f"{where}: the user's {key!r} credential plugin is not supported here; "
                                  f"{OFFICIAL_CLIENT_HINT}")
    if cluster.get("proxy-url"):
        raise KubeConfigError(f"{where}: proxy-url is not supported here; {OFFICIAL_CLIENT_HINT}")
    server = _text(cluster, "server", where)
    if not server:
        raise KubeConfigError(f"{where}: the cluster has no server")
    url = urlsplit(server)
    try:
        port = url.port
    except ValueError as e:
        raise KubeConfigError(f"{where}: server {server!r} has a bad port") from e
    scheme = url.scheme.lower()
    if scheme not in ("https", "http") or not url.hostname:
        raise KubeConfigError(f"{where}: server {server!r} is not an http(s) URL")
    if url.query or url.fragment or url.username:
        raise KubeConfigError(f"{where}: server {server!r} must not carry a query, fragment or user")
    token_file = _file(user, "tokenFile", base_dir, where)
    token = _text(user, "token", where) or None
    return ClusterConfig(
        scheme=scheme,
        host=url.hostname,
        port=port or (443 if scheme == "https" else 80),
        base_path=url.path.rstrip("/"),
        ca_file=_file(cluster, "certificate-authority", base_dir, where),
        ca_data=_data(cluster, "certificate-authority-data", where),
        insecure_skip_tls_verify=_flag(cluster, "insecure-skip-tls-verify", where),
        tls_server_name=_text(cluster, "tls-server-name", where) or None,
        client_cert_file=_file(user, "client-certificate", base_dir, where),
        client_cert_data=_data(user, "client-certificate-data", where),
        client_key_file=_file(user, "client-key", base_dir, where),
        client_key_data=_data(user, "client-key-data", where),
        # kubectl: a static token wins over tokenFile.
        token=token,
        token_file=None if token else token_file,
        username=_text(user, "username", where) or None,
        password=_text(user, "password", where) or None,
    )


def _named(document: Mapping[str, Any], section: str, field: str, name: str) -> Mapping[str, Any]:
    entries = document.get(section) or []
    if not isinstance(entries, list):
        raise KubeConfigError(f"the kubeconfig's {section} is not a list")
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            value = entry.get(field) or {}
            if not isinstance(value, Mapping):
                raise KubeConfigError(f"{section} entry {name!r} has no {field} mapping")
            return value
    raise KubeConfigError(f"the kubeconfig has no {field} named {name!r}")


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise KubeConfigError(f"{where}: {key} must be a string")
    return value


def _flag(mapping: Mapping[str, Any], key: str, where: str) -> bool:
    value = mapping.get(key, False)
    if not isinstance(value, bool):
        raise KubeConfigError(f"{where}: {key} must be true or false")
    return value


def _file(mapping: Mapping[str, Any], key: str, base_dir: Path, where: str) -> str | None:
    value = _text(mapping, key, where)
    if not value:
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise KubeConfigError(f"{where}: {key} {str(path)!r} is not a readable file")
    return str(path)


def _data(mapping: Mapping[str, Any], key: str, where: str) -> bytes | None:
    value = _text(mapping, key, where)
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise KubeConfigError(f"{where}: {key} is not base64") from e


def _port(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise KubeConfigError(f"the API server {what} {text!r} is not a port number")
    return int(text)

