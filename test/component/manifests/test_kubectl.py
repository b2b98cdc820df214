"""The rendered CRDs served by an API server, driven with the real kubectl: the samples are accepted, a bad custom
resource is refused by the CRD's schema, and ``kubectl get`` prints the columns the operator guide shows."""

from __future__ import annotations

import re
import time

import manifests
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
