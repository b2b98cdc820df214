"""Each program's ServiceAccount is granted exactly the API calls its code makes: nothing missing, nothing unused.

The calls come from the source (hack/rbac/rbac_scan.py); a run of the real ipamd daemon against the fake API
server cross-checks them: every request it sends must be among the derived calls and granted.
"""

from __future__ import annotations

import threading
import time

import manifests
import pytest
import rbac_rules
import rbac_scan
from rbac_record import RequestLog, api_call
from rbac_scan import ApiCall

from eni.api.v1 import ALL_KINDS, NODE_ENI_CONFIG, crdgen
from eni.cloud.emulator import Emulator, World
from tke_eni_ipamd import main as ipamd_main
from tke_eni_ipamd import wiring as ipamd_wiring

NAMESPACE = "kube-system"
PROGRAMS = {p.name: p for p in rbac_scan.PROGRAMS}
CASES = [(overlay, name) for overlay in manifests.OVERLAYS for name in PROGRAMS
         if not (overlay == "non-static" and name == "tke-eni-ip-scheduler")]
SECRET_ID, SECRET_KEY = "AKIDmanifestsrbac001", "manifests-rbac-secret"


@pytest.fixture(scope="module")
def scanned() -> dict[str, dict[ApiCall, list[rbac_scan.Site]]]:
    return {name: rbac_scan.scan(program) for name, program in PROGRAMS.items()}


@pytest.mark.parametrize(("overlay", "program"), CASES)
def test_roles_grant_exactly_what_the_code_calls(rendered, scanned, overlay, program):
    rules = [rule for _, rule in rendered[overlay].rules_of(PROGRAMS[program].service_account, NAMESPACE)]
    outcome = rbac_rules.compare(program, used=scanned[program], rules=rules)
    assert outcome.missing == (), f"granted too little: {[str(c) for c in outcome.missing]}"
    assert outcome.unused == (), f"granted but unused: {[str(c) for c in outcome.unused]}"
    assert outcome.ungranted_ahead == (), f"AHEAD_OF_CODE lists grants the roles lack: {outcome.ungranted_ahead}"


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_workload_runs_under_its_programs_service_account(rendered, overlay):
    for workload, container in rendered[overlay].containers():
        program = PROGRAMS[container["command"][0]]
        assert workload["spec"]["template"]["spec"]["serviceAccountName"] == program.service_account


def test_the_comparison_reports_a_missing_and_an_unused_grant():
    rules = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]
    outcome = rbac_rules.compare("x", used=[ApiCall("", "nodes", "list"), ApiCall("", "pods", "watch")], rules=rules)
    assert outcome.missing == (ApiCall("", "pods", "watch"),)
    assert outcome.unused == (ApiCall("", "nodes", "get"),)


def test_grants_ahead_of_code_are_neither_unused_nor_missing(monkeypatch):
    soon = ApiCall("", "events", "create")
    monkeypatch.setitem(rbac_rules.AHEAD_OF_CODE, "x", (rbac_rules.AheadOfCode(soon, "records events soon"),))
    rules = [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    assert rbac_rules.compare("x", used=[], rules=rules).ok
    assert rbac_rules.compare("x", used=[soon], rules=rules).stale_ahead == (soon,)
    assert rbac_rules.compare("x", used=[], rules=[]).ungranted_ahead == (soon,)


def test_wildcards_are_refused():
    with pytest.raises(rbac_rules.WildcardError):
        rbac_rules.granted([{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}])


def test_the_scan_finds_calls_through_constants_loops_and_cached_readers(scanned):
    ipamd, scheduler = scanned["tke-eni-ipamd"], scanned["tke-eni-ip-scheduler"]
    group = NODE_ENI_CONFIG.group
    assert ApiCall(group, "nodeeniconfigs/status", "patch") in ipamd  # patch(..., subresource="status")
    assert ApiCall("coordination.k8s.io", "leases", "update") in ipamd  # leader election is on
    assert ApiCall("", "pods", "get") not in ipamd  # pods are read through the cache: list + watch
    assert ApiCall(group, "vpcipclaims", "watch") in scheduler  # informer_for(kind) inside a for loop
    assert not any(c.resource == "leases" or c.resource == "events" for c in scheduler)  # features it does not use


def test_every_runtime_module_calling_the_api_itself_is_a_known_feature():
    assert set(rbac_scan.runtime_modules_with_calls()) == {f.module for f in rbac_scan.FEATURES}


def test_the_leader_election_role_names_the_lease_ipamd_uses(rendered):
    r = rendered["non-static"]
    args = r.named("Deployment", "tke-eni-ipamd")["spec"]["template"]["spec"]["containers"][0]["args"]
    flags = dict(a.removeprefix("--").split("=", 1) for a in args if "=" in a)
    role = r.named("Role", "tke-eni-ipamd-leader-election")
    assert role["metadata"]["namespace"] == flags["leader-elect-resource-namespace"]
    named = [rule for rule in role["rules"] if rule.get("resourceNames")]
    assert named and all(rule["resourceNames"] == [flags["leader-elect-resource-name"]] for rule in named)
    assert {v for rule in named for v in rule["verbs"]} == {"get", "update"}


@pytest.mark.parametrize(("method", "target", "call"), [
    ("GET", "/api/v1/nodes?watch=true&resourceVersion=5", ApiCall("", "nodes", "watch")),
    ("GET", "/api/v1/namespaces/kube-system/pods?fieldSelector=spec.nodeName%3Dn", ApiCall("", "pods", "list")),
    ("PATCH", "/apis/networking.tke.cloud.tencent.com/v1/nodeeniconfigs/n/status",
     ApiCall("networking.tke.cloud.tencent.com", "nodeeniconfigs/status", "patch")),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l",
     ApiCall("coordination.k8s.io", "leases", "update")),
    ("DELETE", "/api/v1/namespaces/default/events", ApiCall("", "events", "deletecollection")),
    ("GET", "/apis/networking.tke.cloud.tencent.com/v1", None),
    ("GET", "/openapi/v2", None),
])
def test_request_lines_map_to_rbac_triples(method, target, call):
    assert api_call(method, target) == call


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.slow
def test_a_recorded_ipamd_run_stays_within_the_derived_calls_and_the_grants(apiserver, kubeconfig, rendered,
                                                                           scanned, monkeypatch):
    """The real daemon (leader election, node pool, GC, teardown) against the fake API server and the emulator."""
    apiserver.seed(*(crdgen.custom_resource_definition(kind) for kind in ALL_KINDS))
    emulator = Emulator(world=World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.0, seed=7)
    emulator.start(host="127.0.0.1", port=0)
    captured = []
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    monkeypatch.setattr(ipamd_wiring, "start", lambda settings: captured.append(settings) or 0)
    assert ipamd_main.main([
        "--kubeconfig", str(kubeconfig), "--region", emulator.region, "--vpc-id", emulator.world.vpc_id,
        "--cluster-id", "cls-rbac", "--cloud-endpoint", emulator.endpoint,
        "--subnets", "subnet-gz3a0001,subnet-gz4a0003", "--leader-elect-identity", "recorder",
        "--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline", "1500ms",
        "--leader-elect-retry-period", "300ms", "--gc-interval", "1s", "--gc-grace", "1s",
        "--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0", "--log-format", "text",
    ]) == 0
    monkeypatch.undo()
    nec_type = apiserver.registry.by_kind(NODE_ENI_CONFIG.api_version, NODE_ENI_CONFIG.kind)
    node_type = apiserver.registry.by_kind("v1", "Node")

    def bound_ips() -> int:
        try:
            status = apiserver.store.get(nec_type, "", "node-1").obj.get("status") or {}
        except Exception:
            return 0
        return sum(1 for eni in status.get("enis") or [] for ip in eni.get("ips") or [] if ip.get("state") == "Bound")

    def nec_gone() -> bool:
        try:
            apiserver.store.get(nec_type, "", "node-1")
        except Exception:
            return True
        return False

    stop = threading.Event()
    status: list[int] = []
    with RequestLog() as log:
        thread = threading.Thread(target=lambda: status.append(ipamd_wiring.start(captured[0], stop=stop)),
                                  daemon=True)
        thread.start()
        try:
            apiserver.seed({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                            "spec": {"providerID": "qcloud:///ap-guangzhou-3/ins-emu00001"}})
            wait_for(lambda: bound_ips() >= 5)
            apiserver.store.delete(node_type, "", "node-1")
            wait_for(nec_gone)
            time.sleep(1.5)  # a GC pass over the emptied cluster
        finally:
            stop.set()
            thread.join(30)
            emulator.stop()
    assert status == [0]
    recorded = log.calls()
    rules = [rule for _, rule in rendered["non-static"].rules_of("tke-eni-ipamd", NAMESPACE)]
    granted = rbac_rules.granted(rules)
    assert {ApiCall("coordination.k8s.io", "leases", "create"), ApiCall("", "nodes", "watch"),
            ApiCall(NODE_ENI_CONFIG.group, "nodeeniconfigs", "create"),
            ApiCall(NODE_ENI_CONFIG.group, "nodeeniconfigs", "delete")} <= recorded.keys()
    assert sorted(str(c) for c in recorded.keys() - scanned["tke-eni-ipamd"].keys()) == []
    assert sorted(str(c) for c in recorded.keys() - granted) == []


@pytest.mark.slow
def test_a_recorded_extender_run_makes_exactly_the_derived_calls(apiserver, kubeconfig, rendered, scanned,
                                                                  monkeypatch):
    """The real extender program reads through informers only: its run shows every derived call and no other
    (with --only-nominated-eni-subnets, under which it also watches pods)."""
    from tke_eni_ip_scheduler import main as scheduler_main
    from tke_eni_ip_scheduler import wiring as scheduler_wiring

    apiserver.seed(*(crdgen.custom_resource_definition(kind) for kind in ALL_KINDS))
    captured = []
    monkeypatch.setattr(scheduler_wiring, "start", lambda settings: captured.append(settings) or 0)
    assert scheduler_main.main(["--kubeconfig", str(kubeconfig), "--listen", "127.0.0.1:0", "--metrics-bind-address",
                                "0", "--health-probe-bind-address", "127.0.0.1:0", "--log-format", "text",
                                "--only-nominated-eni-subnets"]) == 0
    monkeypatch.undo()
    derived = set(scanned["tke-eni-ip-scheduler"])
    stop = threading.Event()
    status: list[int] = []
    with RequestLog() as log:
        thread = threading.Thread(target=lambda: status.append(scheduler_wiring.start(captured[0], stop=stop)),
                                  daemon=True)
        thread.start()
        try:
            wait_for(lambda: derived <= log.calls().keys())
        finally:
            stop.set()
            thread.join(30)
    assert status == [0]
    rules = [rule for _, rule in rendered["static-ip"].rules_of("tke-eni-ip-scheduler", NAMESPACE)]
    assert set(log.calls()) == derived == rbac_rules.granted(rules)


def test_the_check_command_agrees(capsys):
    import check

    assert check.main(["--calls"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("RBAC matches the code")
    assert "uses patch nodeeniconfigs/status.networking.tke.cloud.tencent.com   tke_eni_agent.wiring:" in out
