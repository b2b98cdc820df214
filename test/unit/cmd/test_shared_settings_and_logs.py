"""The settings values and log output the programs share (eni.cli): checks name the flag, lines are well formed."""

import io
import json
import logging

import pytest

from eni.cli.logs import TEXT_FORMAT, JsonFormatter, configure_logging
from eni.cli.settings import BindAddress, KubeClientSettings, SettingsError


@pytest.mark.parametrize(("text", "expected"), [("127.0.0.1:8080", "127.0.0.1:8080"), ("[::1]:9", "[::1]:9"),
                                                (":80", ":80")])
def test_bind_address_round_trips(text, expected):
    assert str(BindAddress.parse(text, flag="--x")) == expected


def test_bind_address_zero_disables():
    assert BindAddress.parse(" 0 ", flag="--x") is None


@pytest.mark.parametrize("text", ["8080", "host:80", "1.2.3.4:65536", "1.2.3.4:"])
def test_bind_address_refuses_bad_text_naming_the_flag(text):
    with pytest.raises(SettingsError, match="^--metrics-bind-address: ") as caught:
        BindAddress.parse(text, flag="--metrics-bind-address")
    assert caught.value.flag == "--metrics-bind-address"


@pytest.mark.parametrize(("qps", "burst", "flag"), [(0, 10, "--kube-client-qps"), (20, 10, "--kube-client-burst"),
                                                    (0.5, 0, "--kube-client-burst")])
def test_kube_client_rate_is_checked(qps, burst, flag):
    with pytest.raises(SettingsError) as caught:
        KubeClientSettings(kubeconfig=None, qps=qps, burst=burst)
    assert caught.value.flag == flag


def _record(**kv):
    record = logging.LogRecord("eni.x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.kv = kv
    return record


def test_json_lines_carry_key_values_as_fields():
    entry = json.loads(JsonFormatter().format(_record(node="n1", count=3, path=object)))
    assert entry["msg"] == "hello world" and entry["level"] == "warning" and entry["logger"] == "eni.x"
    assert entry["node"] == "n1" and entry["count"] == 3 and entry["path"] == str(object)


def test_text_format_uses_the_given_formatter():
    marker = logging.Formatter("TEXT " + TEXT_FORMAT)
    configure_logging(level="error", fmt="text", text_formatter=marker)  # NB: conftest restores the root logger
    root = logging.getLogger()
    (handler,) = root.handlers
    assert handler.formatter is marker and root.level == logging.ERROR


def test_json_format_ignores_the_text_formatter():
    configure_logging(level="debug", fmt="json", text_formatter=logging.Formatter())
    root = logging.getLogger()
    (handler,) = root.handlers
    assert isinstance(handler.formatter, JsonFormatter) and root.level == logging.DEBUG
    stream = io.StringIO()
    handler.setStream(stream)
    logging.getLogger("eni.y").debug("x")
    assert json.loads(stream.getvalue())["msg"] == "x"
