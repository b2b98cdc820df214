"""The rendered CRDs served by an API server, driven with the real kubectl: the samples are accepted, a bad custom
resource is refused by the CRD's schema, and ``kubectl get`` prints the columns the operator guide shows."""

from __future__ import annotations

import re
import time

import manifests
import pytest
import yaml

SAMPLES = manifests.CONFIG / "samples"
GUIDE = manifests.REPO / "docs" / "operator-guide.md"


def install_crds(rendered, kubectl) -> None:
    crds = rendered["non-static"].of_kind("CustomResourceDefinition")
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(crds))
    deadline = time.monotonic() + 10
    while kubectl("get", "nec,vipc", "-A", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the CRDs were never served"
        time.sleep(0.1)


def guide_header(command: str) -> list[str]:
    """The column names of the example output the guide shows under ``command``."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(re.escape(f"`{command}`") + r"[^`]*?```\n(NAME[^\n]*)\n", text)
    assert match, f"the guide shows no output of {command}"
    return match.group(1).split()


def test_samples_are_accepted_and_printed_as_the_guide_shows(rendered, kubectl):
    install_crds(rendered, kubectl)
    for path in sorted(SAMPLES.glob("*.yaml")):
        kubectl("apply", "-f", str(path))
    nec_table = kubectl("get", "nec").stdout.splitlines()
    assert nec_table[0].split() == guide_header("kubectl get nec")
    assert nec_table[1].split()[:3] == ["node-1", "ins-replaceme", "ap-guangzhou-3"]
    claims = kubectl("get", "vipc", "-n", "default", "-o", "jsonpath={.items[*].spec.deletePolicy}").stdout
    assert claims == "Never"


def test_a_custom_resource_outside_its_schema_is_refused(rendered, kubectl):
    install_crds(rendered, kubectl)
    claim = yaml.safe_load((SAMPLES / "vpcipclaim.yaml").read_text(encoding="utf-8"))
    claim["spec"]["deletePolicy"] = "Sometimes"
    refused = kubectl("apply", "-f", "-", input=yaml.safe_dump(claim), check=False)
    assert refused.returncode != 0 and "deletePolicy" in refused.stderr
    assert kubectl("get", "vipc", "-A", "-o", "name").stdout.strip() == ""


def served_kinds(kubectl) -> set[str]:
    names = kubectl("get", "customresourcedefinitions", "-o", "jsonpath={.items[*].spec.names.kind}").stdout
    return set(names.split())


@pytest.mark.parametrize("how", ["-k", "-f"])
def test_the_crds_install_the_ways_the_guide_gives(kubectl, how):
    """``kubectl apply -k config/crd`` reads its Kustomization; ``-f config/crd/`` reads the YAML files beside it."""
    folder = "config/crd" if how == "-k" else "config/crd/"
    assert f"kubectl apply {how} {folder}" in GUIDE.read_text(encoding="utf-8")
    expected = {yaml.safe_load(p.read_text(encoding="utf-8"))["spec"]["names"]["kind"]
                for p in (manifests.CONFIG / "crd").glob("*.yaml")}
    assert len(expected) == 5
    assert served_kinds(kubectl) == set()
    kubectl("apply", how, str(manifests.REPO / folder))
    assert served_kinds(kubectl) == expected
