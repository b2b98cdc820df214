"""The standard-library kubeconfig / in-cluster loader: what it reads, and the clear errors it refuses with."""

import base64
import json

import pytest
import yaml

from eni.runtime.kubeconfig import ClusterConfig, KubeConfigError, in_cluster_config, load_kubeconfig


def kubeconfig(cluster=None, user=None, *, current="main", extra_contexts=()):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://api.example:6443", **(cluster or {})}},
                     {"name": "other", "cluster": {"server": "http://10.0.0.9:8080"}}],
        "users": [{"name": "u", "user": user or {}}, {"name": "other", "user": {"token": "other-token"}}],
        "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}},
                     {"name": "second", "context": {"cluster": "other", "user": "other"}}, *extra_contexts],
        "current-context": current,
    }


def write(tmp_path, document, name="config"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_current_context_server_ca_data_and_token(tmp_path):
    ca = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    doc = kubeconfig({"certificate-authority-data": base64.b64encode(ca).decode()}, {"token": "s3cret"})
    config = load_kubeconfig(write(tmp_path, doc))
    assert (config.scheme, config.host, config.port, config.base_path) == ("https", "api.example", 6443, "")
    assert config.ca_data == ca and config.ca_file is None
    assert (config.token, config.token_file) == ("s3cret", None)
    assert config.server == "https://api.example:6443"


def test_an_explicit_context_wins_over_current_context(tmp_path):
    config = load_kubeconfig(write(tmp_path, kubeconfig()), context="second")
    assert (config.scheme, config.host, config.port, config.token) == ("http", "10.0.0.9", 8080, "other-token")


@pytest.mark.parametrize(("server", "expected"), [
    ("https://api.example", ("https", "api.example", 443, "")),
    ("http://api.example", ("http", "api.example", 80, "")),
    ("https://[fd00::1]:6443", ("https", "fd00::1", 6443, "")),
    ("https://lb.example/k8s/", ("https", "lb.example", 443, "/k8s")),
])
def test_server_urls(tmp_path, server, expected):
    config = load_kubeconfig(write(tmp_path, kubeconfig({"server": server})))
    assert (config.scheme, config.host, config.port, config.base_path) == expected


def test_relative_files_resolve_against_the_kubeconfig_folder_and_a_token_wins_over_token_file(tmp_path):
    (tmp_path / "pki").mkdir()
    for name in ("ca.crt", "client.crt", "client.key", "token"):
        (tmp_path / "pki" / name).write_text("x\n")
    doc = kubeconfig({"certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes"},
                     {"client-certificate": "pki/client.crt", "client-key": "pki/client.key",
                      "tokenFile": "pki/token"})
    config = load_kubeconfig(write(tmp_path, doc))
    assert config.ca_file == str(tmp_path / "pki" / "ca.crt")
    assert (config.client_cert_file, config.client_key_file) == (str(tmp_path / "pki" / "client.crt"),
                                                                 str(tmp_path / "pki" / "client.key"))
    assert (config.token, config.token_file, config.tls_server_name) == (None, str(tmp_path / "pki" / "token"),
                                                                         "kubernetes")
    doc["users"][0]["user"]["token"] = "static"
    config = load_kubeconfig(write(tmp_path, doc))
    assert (config.token, config.token_file) == ("static", None)


def test_yaml_kubeconfigs_go_through_the_given_parser(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(kubeconfig(user={"username": "admin", "password": "pw"})))
    with pytest.raises(KubeConfigError, match="malformed"):
        load_kubeconfig(path)  # the default parser is JSON
    config = load_kubeconfig(path, parse=yaml.safe_load)
    assert (config.username, config.password) == ("admin", "pw")


@pytest.mark.parametrize(("user", "cluster", "message"), [
    ({"exec": {"command": "aws"}}, {}, "'exec' credential plugin .*official"),
    ({"auth-provider": {"name": "gcp"}}, {}, "'auth-provider' credential plugin .*official"),
    ({}, {"proxy-url": "http://proxy:3128"}, "proxy-url .*official"),
    ({}, {"server": "ftp://x"}, "not an http"),
    ({}, {"server": "https://x:99999"}, "bad port"),
    ({}, {"server": "https://x?q=1"}, "query"),
    ({}, {"server": ""}, "no server"),
    ({}, {"certificate-authority-data": "not base64!"}, "not base64"),
    ({}, {"certificate-authority": "/nonexistent/ca.crt"}, "not a readable file"),
    ({}, {"insecure-skip-tls-verify": "yes"}, "true or false"),
    ({}, {"insecure-skip-tls-verify": True, "certificate-authority-data": "QUJD"}, "contradictory"),
    ({"client-certificate-data": "QUJD"}, {}, "needs its client key"),
    ({"client-key-data": "QUJD"}, {}, "needs its client certificate"),
    ({"token": 42}, {}, "token must be a string"),
])
def test_unsupported_or_malformed_settings_are_refused_clearly(tmp_path, user, cluster, message):
    with pytest.raises(KubeConfigError, match=message):
        load_kubeconfig(write(tmp_path, kubeconfig(cluster, user)))


@pytest.mark.parametrize(("document", "message"), [
    ([], "is a mapping"),
    ({**kubeconfig(), "current-context": ""}, "no current-context"),
    ({**kubeconfig(), "current-context": "nope"}, "no context named 'nope'"),
    ({**kubeconfig(), "clusters": {"c": {}}}, "clusters is not a list"),
    ({**kubeconfig(), "clusters": []}, "no cluster named 'c'"),
    ({**kubeconfig(), "users": [{"name": "u", "user": "x"}]}, "no user mapping"),
])
def test_broken_documents_are_refused(tmp_path, document, message):
    with pytest.raises(KubeConfigError, match=message):
        load_kubeconfig(write(tmp_path, document))


def test_unreadable_or_unparsable_files_are_config_errors(tmp_path):
    with pytest.raises(KubeConfigError, match="cannot read"):
        load_kubeconfig(tmp_path / "missing")
    (tmp_path / "bad").write_text("{not json")
    with pytest.raises(KubeConfigError, match="malformed"):
        load_kubeconfig(tmp_path / "bad")


def test_in_cluster_reads_the_service_environment_and_account_files(tmp_path):
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "ca.crt").write_text("ca\n")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::10", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(environ=env, service_account_dir=tmp_path)
    assert (config.scheme, config.host, config.port) == ("https", "fd00::10", 443)
    assert (config.token_file, config.ca_file) == (str(tmp_path / "token"), str(tmp_path / "ca.crt"))
    assert config.server == "https://[fd00::10]:443"


@pytest.mark.parametrize(("env", "files", "message"), [
    ({}, ("token", "ca.crt"), "KUBERNETES_SERVICE_HOST"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"}, ("token", "ca.crt"),
     "not a port"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, ("ca.crt",), "token is missing"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, ("token",), "ca.crt is missing"),
])
def test_in_cluster_outside_a_cluster_says_what_is_missing(tmp_path, env, files, message):
    for name in files:
        (tmp_path / name).write_text("x")
    with pytest.raises(KubeConfigError, match=message):
        in_cluster_config(environ=env, service_account_dir=tmp_path)


def test_cluster_config_validates_itself():
    with pytest.raises(KubeConfigError, match="scheme"):
        ClusterConfig(scheme="ftp", host="h", port=1)
    with pytest.raises(KubeConfigError, match="port"):
        ClusterConfig(scheme="https", host="h", port=0)
