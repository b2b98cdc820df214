"""Every container's command line in the rendered overlays is accepted by that program's own CLI.

Each container's args and environment (ConfigMap keys, Secret keys with stand-in values, downward-API
fields, ``$(VAR)`` references expanded as the kubelet does) go through the program's click command and then
its settings validation, so a renamed or removed flag, a bad value or a ConfigMap key nobody reads fails here.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Iterator
from typing import Any

import click
import manifests
import pytest
import yaml

from eni.api.v1.constants import RESOURCE_DIRECT_ENI, RESOURCE_ENI_IP
from eni.scheduler.wire import decode_args

FIELD_VALUES = {"spec.nodeName": "node-1", "status.podIP": "10.0.0.8", "metadata.name": "tke-eni-ipamd-abc12",
                "status.hostIP": "10.0.0.8", "metadata.namespace": "kube-system"}
SECRET_VALUE = "stand-in-secret-value"
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def console_scripts(pyproject: dict) -> dict[str, str]:
    return dict(pyproject["project"]["scripts"])


def cli_of(script_target: str) -> click.Command:
    """The click command of a console script ``package.main:run`` (its module's ``cli``)."""
    module_name, _ = script_target.split(":")
    command = importlib.import_module(module_name).cli
    assert isinstance(command, click.Command)
    return command


def container_env(r: manifests.Rendered, container: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env", ()):
        source = item.get("valueFrom")
        if source is None:
            env[item["name"]] = VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), item.get("value", ""))
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = next(cm["data"] for cm in r.of_kind("ConfigMap") if cm["metadata"]["name"] == ref["name"])
            env[item["name"]] = data[ref["key"]]
        elif "secretKeyRef" in source:
            env[item["name"]] = SECRET_VALUE
        elif "fieldRef" in source:
            env[item["name"]] = FIELD_VALUES[source["fieldRef"]["fieldPath"]]
        else:
            raise AssertionError(f"unexpected env source {source}")
    return env


def expand(args: list[str], env: dict[str, str]) -> list[str]:
    """``$(VAR)`` as the kubelet expands it; an undefined reference stays as written (and will fail to parse)."""
    return [VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), arg) for arg in args]


def all_containers(rendered: dict[str, manifests.Rendered]) -> Iterator[tuple[str, dict, dict]]:
    for overlay, r in rendered.items():
        for workload, container in r.containers():
            yield overlay, workload, container


def parse_and_validate(command: click.Command, program: str, args: list[str], env: dict[str, str],
                       monkeypatch: pytest.MonkeyPatch) -> Any:
    """Parse as the program would (environment included) and build its validated settings."""
    for name in list(os.environ):
        if name.startswith("ENI_") or name in ("NODE_NAME", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ctx = command.make_context(program, list(args))
    settings_module = importlib.import_module(command.callback.__module__.rpartition(".")[0] + ".settings")
    from_flags = settings_module.from_flags
    if "env" in inspect.signature(from_flags).parameters:
        return from_flags(ctx.params, env=dict(os.environ))
    return from_flags(ctx.params)


def test_every_container_command_line_is_accepted_by_its_program(rendered, pyproject, monkeypatch):
    scripts = console_scripts(pyproject)
    seen = set()
    for overlay, _, container in all_containers(rendered):
        program = container["command"][0]
        assert len(container["command"]) == 1, "flags belong in args"
        assert program in scripts, f"{overlay}: {program} is not a console script of the package"
        env = container_env(rendered[overlay], container)
        settings = parse_and_validate(cli_of(scripts[program]), program, expand(container.get("args", []), env),
                                      env, monkeypatch)
        assert settings is not None
        seen.add(program)
    assert seen == {"tke-eni-agent", "tke-eni-ipamd", "tke-eni-ip-scheduler"}


def test_a_renamed_flag_is_caught(rendered, pyproject, monkeypatch):
    scripts = console_scripts(pyproject)
    r = rendered["non-static"]
    container = r.named("DaemonSet", "tke-eni-agent")["spec"]["template"]["spec"]["containers"][0]
    env = container_env(r, container)
    args = [a.replace("--state-dir=", "--state-directory=") for a in expand(container["args"], env)]
    with pytest.raises(click.NoSuchOption):
        parse_and_validate(cli_of(scripts["tke-eni-agent"]), "tke-eni-agent", args, env, monkeypatch)


def test_a_bad_value_from_the_config_map_is_caught(rendered, pyproject, monkeypatch):
    scripts = console_scripts(pyproject)
    r = rendered["non-static"]
    container = r.named("Deployment", "tke-eni-ipamd")["spec"]["template"]["spec"]["containers"][0]
    env = {**container_env(r, container), "ENI_SUBNETS": "not-a-subnet"}
    settings_error = importlib.import_module("tke_eni_ipamd.settings").SettingsError
    with pytest.raises(settings_error, match="--subnets"):
        parse_and_validate(cli_of(scripts["tke-eni-ipamd"]), "tke-eni-ipamd", expand(container["args"], env),
                           env, monkeypatch)


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_shared_setting_is_read_by_some_container(rendered, overlay):
    r = rendered[overlay]
    settings = r.config_map("tke-eni-config")
    read = {item["valueFrom"]["configMapKeyRef"]["key"]
            for _, container in r.containers() for item in container.get("env", ())
            if "configMapKeyRef" in item.get("valueFrom", {})}
    assert read == set(settings["data"])


def flag_value(args: list[str], flag: str) -> str:
    values = [a.split("=", 1)[1] for a in args if a.startswith(flag + "=")]
    assert len(values) == 1, f"{flag} is set {len(values)} times"
    return values[0]


def test_probes_reach_the_health_endpoint_the_program_serves(rendered):
    for overlay, _, container in all_containers(rendered):
        env = container_env(rendered[overlay], container)
        health = flag_value(expand(container["args"], env), "--health-probe-bind-address")
        host, _, port = health.rpartition(":")
        for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            probe = container[probe_name]["httpGet"]
            assert (probe["host"], str(probe["port"]), probe["path"]) == (host, port, path), container["name"]


def test_kube_scheduler_reaches_the_extender_through_its_service(rendered):
    r = rendered["static-ip"]
    deployment = r.named("Deployment", "tke-eni-ip-scheduler")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    listen_port = int(flag_value(container["args"], "--listen").rpartition(":")[2])
    service = r.named("Service", "tke-eni-ip-scheduler")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (port,) = service["spec"]["ports"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named[port["targetPort"]] == listen_port

    config_map = r.named("ConfigMap", "tke-eni-kube-scheduler-config")
    config = yaml.safe_load(config_map["data"]["kube-scheduler-config.yaml"])
    assert config["apiVersion"] == "kubescheduler.config.k8s.io/v1"
    assert config["kind"] == "KubeSchedulerConfiguration"
    (extender,) = config["extenders"]
    meta = service["metadata"]
    assert extender["urlPrefix"] == f"http://{meta['name']}.{meta['namespace']}.svc:{port['port']}"
    assert (extender["filterVerb"], extender["prioritizeVerb"]) == ("filter", "prioritize")
    assert [m["name"] for m in extender["managedResources"]] == [RESOURCE_ENI_IP, RESOURCE_DIRECT_ENI]
    if extender["nodeCacheCapable"]:  # kube-scheduler then sends NodeNames only; the extender must accept that
        args = decode_args(b'{"Pod": {"metadata": {"name": "p", "namespace": "d"}}, "NodeNames": ["node-1"]}')
        assert args is not None


ADDRESS_FLAGS = ("--listen", "--metrics-bind-address", "--health-probe-bind-address")


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_host_network_programs_on_one_node_bind_distinct_ports(rendered, overlay):
    """The agent, an ipamd replica and an extender replica can share a node's network: no port twice."""
    ports: dict[int, str] = {}
    for workload, container in rendered[overlay].containers():
        assert workload["spec"]["template"]["spec"].get("hostNetwork") is True
        for arg in container["args"]:
            flag, _, value = arg.partition("=")
            if flag in ADDRESS_FLAGS and value != "0":
                port = int(value.rpartition(":")[2])
                assert port not in ports, f"{container['name']} {flag} and {ports.get(port)} both use port {port}"
                ports[port] = f"{container['name']} {flag}"
    assert len(ports) >= 4


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_the_agent_and_ipamd_run_in_the_same_mode(rendered, overlay, pyproject, monkeypatch):
    scripts = console_scripts(pyproject)
    r = rendered[overlay]
    modes = {}
    for name in ("tke-eni-agent", "tke-eni-ipamd"):
        _, container = next((w, c) for w, c in r.containers() if c["command"] == [name])
        env = container_env(r, container)
        monkeypatch.delenv("ENI_MODE", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        ctx = cli_of(scripts[name]).make_context(name, expand(container.get("args", []), env))
        modes[name] = ctx.params["mode"]
        monkeypatch.undo()
    assert modes["tke-eni-agent"] == modes["tke-eni-ipamd"] == r.config_map("tke-eni-config")["data"]["mode"]
