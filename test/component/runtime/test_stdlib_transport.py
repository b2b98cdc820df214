"""The standard-library connector against the fake API server.

1. The client, informer and reflector component tests written for the official client's transport run again
   here unchanged, with the ``transport`` fixture swapped for a stdlib one built from the server's kubeconfig.
2. TLS: a loopback TLS front (the ``ssl`` module, certificates made with the ``openssl`` CLI per test module)
   with a CA made here, requiring client certificates: CA verification, client certificates from files or
   kubeconfig data, tls-server-name, insecure-skip-tls-verify, and the failures.
"""

import base64
import importlib.util
import json
import select
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from eni.runtime.cache import SharedInformer
from eni.runtime.cache.listwatch import KubeListerWatcher
from eni.runtime.client import KubeClient, KubeTransport, TransportError
from eni.runtime.client.stdlib import StdlibConnector
from eni.runtime.kubeconfig import kubeconfig_from_mapping, load_kubeconfig
from eni.runtime.meta import POD, ObjectKey

HERE = Path(__file__).resolve().parent
# These use the official ApiClient on purpose (its retry settings, a local server): they stay where they are.
OFFICIAL_ONLY = {"test_unreachable_server_is_a_transport_error", "test_bookmarks_advance_the_resume_version"}


def _reuse(module_file):
    spec = importlib.util.spec_from_file_location(f"stdlib_reuse_{module_file[:-3]}", HERE / module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: fn for name, fn in vars(module).items()
            if name.startswith("test_") and callable(fn) and name not in OFFICIAL_ONLY}


for _file in ("test_client_apiserver.py", "test_informer_apiserver.py", "test_reflector_apiserver.py"):
    globals().update(_reuse(_file))


@pytest.fixture
def transport(apiserver):
    """Overrides conftest's official-client transport for every test of this module (reused ones included)."""
    stdlib = KubeTransport(connector=StdlibConnector(kubeconfig_from_mapping(apiserver.kubeconfig())), timeout=10)
    yield stdlib
    stdlib.close()


def test_the_reused_tests_run_over_the_stdlib_connector(transport, kube):
    assert isinstance(transport.connector, StdlibConnector)
    assert kube.transport is transport


def test_a_kubeconfig_file_written_by_the_server_is_enough(apiserver, tmp_path):
    apiserver.write_kubeconfig(str(tmp_path / "kubeconfig"))
    transport = KubeTransport(connector=StdlibConnector(load_kubeconfig(tmp_path / "kubeconfig")), timeout=5)
    try:
        client = KubeClient(transport)
        client.create(POD, pod("via-file"))
        assert client.get(POD, ObjectKey("default", "via-file"))["spec"]["nodeName"] == "n1"
    finally:
        transport.close()


def test_an_unreachable_server_is_a_transport_error(apiserver):
    config = kubeconfig_from_mapping(apiserver.kubeconfig())
    apiserver.stop()
    transport = KubeTransport(connector=StdlibConnector(config), timeout=2)
    with pytest.raises(TransportError):
        KubeClient(transport).get(POD, ObjectKey("default", "x"))


# -- TLS -----------------------------------------------------------------------------------------------------


def pod(name):
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def issue(cwd, name, *, ca, subject, extensions):
    (cwd / f"{name}.ext").write_text(extensions)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


def make_ca(cwd, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}", cwd=cwd)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make the test certificates")
    cwd = tmp_path_factory.mktemp("pki")
    make_ca(cwd, "ca")
    make_ca(cwd, "other-ca")
    issue(cwd, "server", ca="ca", subject="/CN=kube-apiserver",
          extensions="subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n")
    issue(cwd, "client", ca="ca", subject="/CN=system:node:n1/O=system:nodes",
          extensions="extendedKeyUsage=clientAuth\n")
    return cwd


class TlsFront:
    """Terminates TLS on loopback (client certificate required) and relays the bytes to the fake API server."""

    def __init__(self, pki, backend_port):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
        self.backend_port = backend_port
        self.rejected = 0
        self.done = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def server(self):
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._relay, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _relay(self, conn):
        conn.settimeout(5)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.rejected += 1
            conn.close()
            return
        with tls, socket.create_connection(("127.0.0.1", self.backend_port), timeout=5) as upstream:
            # One thread per connection: an SSLSocket is not read and written from two threads.
            while not self.done.is_set():
                ready, _, _ = select.select([tls, upstream], [], [], 0.2) if not tls.pending() else ([tls], [], [])
                try:
                    for source in ready:
                        data = source.recv(65536)
                        if not data:
                            return
                        (upstream if source is tls else tls).sendall(data)
                except OSError:
                    return

    def close(self):
        self.done.set()
        self.sock.close()
        for t in self.threads:
            t.join(5)


@pytest.fixture
def front(pki, apiserver):
    tls = TlsFront(pki, int(apiserver.url.rsplit(":", 1)[1]))
    yield tls
    tls.close()


def b64(path):
    return base64.b64encode(path.read_bytes()).decode()


def config_of(front, cluster, user, tmp_path):
    document = {"clusters": [{"name": "c", "cluster": {"server": front.server, **cluster}}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "current-context": "x"}
    (tmp_path / "kubeconfig").write_text(json.dumps(document))
    return load_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def tls_transports():
    made = []

    def make(config):
        transport = KubeTransport(connector=StdlibConnector(config), timeout=5)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def test_verified_tls_with_client_certificate_data_serves_reads_writes_and_watches(
        pki, front, tmp_path, tls_transports, running, journal, wait_until):
    config = config_of(front, {"certificate-authority-data": b64(pki / "ca.crt")},
                       {"client-certificate-data": b64(pki / "client.crt"),
                        "client-key-data": b64(pki / "client.key")}, tmp_path)
    transport = tls_transports(config)
    client = KubeClient(transport)
    informer = SharedInformer(KubeListerWatcher(transport, POD), name="pods")
    events = journal()
    informer.add_event_handler(events)
    running(informer.start)
    assert informer.wait_for_sync(10)
    client.create(POD, pod("a"))
    client.patch(POD, ObjectKey("default", "a"), {"metadata": {"labels": {"x": "1"}}})
    wait_until(lambda: len(events.events) >= 2, message=str(events.events))
    assert events.events == [("add", "a"), ("update", "a")]
    assert not list(tmp_path.glob("tke-eni-client-*")), "no key material left on disk"


def test_client_certificate_files_and_tls_server_name(pki, front, tmp_path, tls_transports):
    user = {"client-certificate": str(pki / "client.crt"), "client-key": str(pki / "client.key")}
    named = config_of(front, {"certificate-authority": str(pki / "ca.crt"),
                              "tls-server-name": "kubernetes.default.svc"}, user, tmp_path)
    KubeClient(tls_transports(named)).create(POD, pod("named"))
    wrong = config_of(front, {"certificate-authority": str(pki / "ca.crt"), "tls-server-name": "wrong.example"},
                      user, tmp_path)
    with pytest.raises(TransportError, match="(?i)certificate"):
        KubeClient(tls_transports(wrong)).get(POD, ObjectKey("default", "named"))


def test_a_server_signed_by_another_ca_is_refused_unless_verification_is_skipped(pki, front, tmp_path,
                                                                                 tls_transports):
    user = {"client-certificate": str(pki / "client.crt"), "client-key": str(pki / "client.key")}
    other = config_of(front, {"certificate-authority": str(pki / "other-ca.crt")}, user, tmp_path)
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        KubeClient(tls_transports(other)).list(POD)
    insecure = config_of(front, {"insecure-skip-tls-verify": True}, user, tmp_path)
    assert KubeClient(tls_transports(insecure)).list(POD) == []


def test_without_a_client_certificate_the_server_refuses_the_handshake(pki, front, tmp_path, tls_transports,
                                                                       wait_until):
    config = config_of(front, {"certificate-authority": str(pki / "ca.crt")}, {"token": "t"}, tmp_path)
    with pytest.raises(TransportError):
        KubeClient(tls_transports(config)).list(POD)
    wait_until(lambda: front.rejected >= 1, message="the front saw no refused handshake")
