"""Both overlays render with kubectl, every object is valid Kubernetes, and the shapes the docs promise hold."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import jsonschema
import kubernetes_validate
import manifests
import pytest
import yaml

from eni.api.v1 import ALL_KINDS, crdgen
from eni.cni.bundle import resolve_interpreter

KUBERNETES_VERSION = "1.32"  # the kubectl shipped here; our manifests must not need anything newer
CLUSTER_SCOPED = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
BASE_OBJECTS = {
    ("ServiceAccount", "tke-eni-agent"), ("ServiceAccount", "tke-eni-ipamd"),
    ("ClusterRole", "tke-eni-agent"), ("ClusterRoleBinding", "tke-eni-agent"),
    ("ClusterRole", "tke-eni-ipamd"), ("ClusterRoleBinding", "tke-eni-ipamd"),
    ("Role", "tke-eni-ipamd-leader-election"), ("RoleBinding", "tke-eni-ipamd-leader-election"),
    ("DaemonSet", "tke-eni-agent"), ("Deployment", "tke-eni-ipamd"), ("PodDisruptionBudget", "tke-eni-ipamd"),
}
EXTENDER_OBJECTS = {
    ("ServiceAccount", "tke-eni-ip-scheduler"), ("ClusterRole", "tke-eni-ip-scheduler"),
    ("ClusterRoleBinding", "tke-eni-ip-scheduler"), ("Deployment", "tke-eni-ip-scheduler"),
    ("Service", "tke-eni-ip-scheduler"), ("ConfigMap", "tke-eni-kube-scheduler-config"),
    ("PodDisruptionBudget", "tke-eni-ip-scheduler"),
}
SAMPLES = manifests.CONFIG / "samples"


def kinds_and_names(r: manifests.Rendered) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in r.objects}


def test_non_static_renders_the_base_without_the_extender(rendered):
    objects = kinds_and_names(rendered["non-static"])
    assert BASE_OBJECTS <= objects
    assert not EXTENDER_OBJECTS & objects
    assert rendered["non-static"].config_map("tke-eni-config")["data"]["mode"] == "non-static"


def test_static_ip_adds_the_extender_and_its_scheduler_configuration(rendered):
    objects = kinds_and_names(rendered["static-ip"])
    assert BASE_OBJECTS | EXTENDER_OBJECTS <= objects
    assert rendered["static-ip"].config_map("tke-eni-config")["data"]["mode"] == "static"


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_rendered_object_is_valid_against_the_kubernetes_openapi_schemas(rendered, overlay):
    for obj in rendered[overlay].objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_what_the_api_server_would():
    deployment = copy.deepcopy(manifests.render("non-static").named("Deployment", "tke-eni-ipamd"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_namespaced_objects_are_in_kube_system_and_all_are_labelled(rendered, overlay):
    for obj in rendered[overlay].objects:
        meta = obj["metadata"]
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, meta["name"]
        else:
            assert meta.get("namespace") == "kube-system", f"{obj['kind']} {meta['name']}"
        assert meta.get("labels", {}).get("app.kubernetes.io/part-of") == "tke-eni", f"{obj['kind']} {meta['name']}"


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_the_crds_are_the_generated_ones(rendered, overlay):
    found = {o["metadata"]["name"]: o for o in rendered[overlay].of_kind("CustomResourceDefinition")}
    wanted = {crd["metadata"]["name"]: crd for crd in map(crdgen.custom_resource_definition, ALL_KINDS)}
    assert found.keys() == wanted.keys()
    for name, crd in wanted.items():
        assert found[name]["spec"] == crd["spec"], name


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_container_runs_the_one_image_at_the_package_version(rendered, overlay, version):
    images = {c["image"] for _, c in rendered[overlay].containers()}
    assert images == {f"tke-eni:{version}"}


def test_the_image_is_replaceable_with_kustomize_images(tmp_path: Path):
    staged = tmp_path / "config"
    shutil.copytree(manifests.CONFIG, staged)
    mine = staged / "overlays" / "mine"
    mine.mkdir()
    (mine / "kustomization.yaml").write_text(
        "resources:\n- ../static-ip\nimages:\n- name: tke-eni\n  newName: registry.example/net/tke-eni\n"
        "  newTag: 9.9.9\n", encoding="utf-8")
    docs = [d for d in yaml.safe_load_all(manifests.kustomize(mine)) if d]
    images = {c["image"] for d in docs if d["kind"] in ("DaemonSet", "Deployment")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example/net/tke-eni:9.9.9"}


def test_the_agent_runs_privileged_on_every_node_with_its_host_folders(rendered):
    agent = rendered["non-static"].named("DaemonSet", "tke-eni-agent")
    pod = agent["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["hostNetwork"] is True
    assert pod["priorityClassName"] == "system-node-critical"
    assert {"operator": "Exists"} in pod["tolerations"]
    assert container["securityContext"] == {"privileged": True, "runAsUser": 0}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    host_paths = {v["hostPath"]["path"] for v in pod["volumes"]}
    assert {"/opt/cni/bin", "/etc/cni/net.d", "/var/lib/tke-eni", "/var/lib/kubelet/device-plugins",
            "/run/tke-eni"} <= host_paths
    mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]} == mounted  # mounted where they are
    interpreter = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--plugin-interpreter="))
    # The agent writes this #! line into plugins the host runs: a host path, never rewritten from the image's PATH.
    assert interpreter.startswith("/usr/bin/python3 ") and resolve_interpreter(interpreter) == interpreter
    node_name = next(e for e in container["env"] if e["name"] == "NODE_NAME")
    assert node_name["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


@pytest.mark.parametrize("name", ["tke-eni-ipamd", "tke-eni-ip-scheduler"])
def test_the_control_plane_runs_as_non_root_with_two_replicas(rendered, name):
    deployment = rendered["static-ip"].named("Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    budget = rendered["static-ip"].named("PodDisruptionBudget", name)["spec"]
    assert budget["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert budget["minAvailable"] == 1


def test_ipamd_reads_the_cloud_key_pair_from_the_secret(rendered):
    ipamd = rendered["non-static"].named("Deployment", "tke-eni-ipamd")
    env = {e["name"]: e.get("valueFrom", {}) for e in ipamd["spec"]["template"]["spec"]["containers"][0]["env"]}
    for key in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        assert env[key] == {"secretKeyRef": {"name": "tke-eni-cloud-credentials", "key": key}}


def crd_schema(kind: str) -> dict:
    for crd in map(crdgen.custom_resource_definition, ALL_KINDS):
        if crd["spec"]["names"]["kind"] == kind:
            return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    raise KeyError(kind)


def load_samples() -> list[dict]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES.glob("*.yaml"))]


@pytest.mark.parametrize("sample", load_samples(), ids=lambda s: f"{s['kind']}-{s['metadata']['name']}")
def test_samples_are_valid_against_their_schemas(sample):
    if sample["apiVersion"].startswith("networking.tke.cloud.tencent.com/"):
        jsonschema.validate(sample, crd_schema(sample["kind"]))
        kind_class = next(k for k in ALL_KINDS if k.RESOURCE.kind == sample["kind"])
        assert kind_class.from_dict(sample).metadata.name == sample["metadata"]["name"]
    else:
        kubernetes_validate.validate(sample, KUBERNETES_VERSION, strict=True)


def test_the_crd_schema_check_rejects_a_bad_custom_resource():
    claim = next(s for s in load_samples() if s["kind"] == "VpcIPClaim")
    claim["spec"]["deletePolicy"] = "Sometimes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(claim, crd_schema("VpcIPClaim"))
