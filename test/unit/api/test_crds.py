"""The generated CRDs: committed files are current, schemas are structural, columns point at real fields."""

import json
from pathlib import Path

import pytest
import yaml

from eni.api.v1 import ALL_KINDS, VpcIP, crdgen
from eni.api.v1.schema import attribute_docs

REPO = Path(__file__).resolve().parents[3]
CRD_DIR = REPO / "config" / "crd"


def test_committed_crds_are_current(tmp_path):
    assert crdgen.stale_files(CRD_DIR) == [], "config/crd is stale: run `make manifests`"
    assert crdgen.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in CRD_DIR.glob("*.yaml")] + [crdgen.KUSTOMIZATION])
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (CRD_DIR / path.name).read_bytes()


def test_generation_is_idempotent_and_prunes_stale_files(tmp_path, capsys):
    assert crdgen.write(tmp_path) != []
    assert crdgen.write(tmp_path) == []
    (tmp_path / f"{crdgen.GROUP}_gone.yaml").write_text("old")
    first = sorted(tmp_path.iterdir())[0]
    first.write_text(first.read_text() + "# edited\n")
    assert crdgen.main([str(tmp_path), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert crdgen.write(tmp_path) == sorted([first.name, f"{crdgen.GROUP}_gone.yaml"])
    assert crdgen.main([str(tmp_path), "--check"]) == 0
    assert not (tmp_path / f"{crdgen.GROUP}_gone.yaml").exists()


def load_crds():
    return [yaml.safe_load(path.read_text()) for path in sorted(CRD_DIR.glob("*.yaml"))]


@pytest.fixture(params=ALL_KINDS, ids=lambda k: k.__name__)
def kind_and_crd(request):
    crd = crdgen.custom_resource_definition(request.param)
    return request.param, crd


def walk(schema, path="$"):
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in schema:
        yield from walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")


def test_crd_identity(kind_and_crd):
    kind, crd = kind_and_crd
    resource = kind.RESOURCE
    assert crd["metadata"]["name"] == f"{resource.plural}.networking.tke.cloud.tencent.com"
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == (resource.kind, resource.plural,
                                                                     list(resource.short_names))
    assert names["categories"] == ["tke-eni"] and names["singular"] == resource.kind.lower()
    assert crd["spec"]["scope"] == ("Namespaced" if resource.namespaced else "Cluster")
    (version,) = crd["spec"]["versions"]
    assert version["served"] and version["storage"] and version["name"] == "v1"
    assert version["subresources"] == {"status": {}}


def test_schema_is_structural(kind_and_crd):
    _, crd = kind_and_crd
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, path
        assert not ("properties" in node and "additionalProperties" in node), path
        if node["type"] == "array":
            assert "items" in node, path
        assert set(node.get("required", [])) <= set(node.get("properties", {})), path
        if "enum" in node:
            assert node["type"] == "string" and node["enum"], path
        if path.count(".") >= 2 and not path.startswith("$.metadata"):
            assert node.get("description") or path.endswith("[]"), f"{path} has no description"
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}


def test_printer_columns_point_at_schema_fields(kind_and_crd):
    _, crd = kind_and_crd
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    for column in version["additionalPrinterColumns"]:
        assert column["type"] in {"string", "integer", "number", "boolean", "date"}
        parts = column["jsonPath"].lstrip(".").split(".")
        if parts[0] == "metadata":
            assert parts[1] in {"name", "creationTimestamp", "namespace"}
            continue
        node = schema
        for part in parts:
            assert part in node.get("properties", {}), f"{column['jsonPath']} is not in the schema"
            node = node["properties"][part]
        assert node["type"] in {"string", "integer"}


def test_vip_columns_are_ip_node_eni_phase():
    names = [c.name.upper() for c in VpcIP.PRINTER_COLUMNS]
    assert names[:4] == ["IP", "NODE", "ENI", "PHASE"]


def test_schema_carries_types_enums_formats_and_required():
    crds = {crd["spec"]["names"]["kind"]: crd for crd in load_crds()}
    nec = crds["NodeENIConfig"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert nec["spec"]["required"] == ["instanceId"]
    assert nec["spec"]["properties"]["maxIPPerENI"] == {
        "type": "integer", "description": nec["spec"]["properties"]["maxIPPerENI"]["description"], "minimum": 0}
    eni = nec["status"]["properties"]["enis"]["items"]["properties"]
    assert eni["ips"]["items"]["properties"]["state"]["enum"] == ["Bound", "Releasing"]
    assert eni["mac"]["format"] == "mac" and eni["subnetCIDR"]["format"] == "cidr"
    agent = nec["status"]["properties"]["agent"]["properties"]
    assert agent["releasedIPs"]["items"] == {"type": "string", "format": "ipv4"}
    assert agent["heartbeatTime"]["format"] == "date-time"
    vipc = crds["VpcIPClaim"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert "required" not in vipc
    assert vipc["properties"]["spec"]["properties"]["expiredDuration"]["format"] == "duration"
    assert vipc["properties"]["status"]["properties"]["phase"]["enum"] == ["Pending", "Bound", "Retained", "Expired"]
    eipc = crds["EIPClaim"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert eipc["isp"]["enum"] == ["BGP", "CMCC", "CTCC", "CUCC"] and eipc["bandwidth"]["minimum"] == 1


def test_descriptions_come_from_attribute_docstrings():
    from eni.api.v1.nodeeniconfig import AgentStatus

    docs = attribute_docs(AgentStatus)
    assert docs["released_ips"].startswith("IPs in state Releasing that the agent promises")
    crds = {crd["spec"]["names"]["kind"]: crd for crd in load_crds()}
    nec = crds["NodeENIConfig"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert nec["properties"]["status"]["properties"]["agent"]["properties"]["releasedIPs"]["description"] == (
        docs["released_ips"])
    assert nec["description"].startswith("Per-node ENI configuration and state")


def test_official_client_accepts_the_crds():
    from kubernetes import client

    api = client.ApiClient()
    for crd in load_crds():
        model = api.deserialize(json.dumps(crd), "V1CustomResourceDefinition", "application/json")
        assert model.spec.names.short_names == crd["spec"]["names"]["shortNames"]
        assert model.spec.versions[0].subresources.status == {}


def test_the_fake_api_server_accepts_every_crd():
    from eni.runtime.testing.apiserver.crd import resource_types, validate_crd

    for crd in load_crds():
        assert validate_crd(crd) == []
        (served,) = resource_types(crd)
        assert served.has_status and served.short_names == tuple(crd["spec"]["names"]["shortNames"])
        assert [c.json_path for c in served.printer_columns] == [
            c["jsonPath"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]


def test_full_objects_validate_against_their_schema_and_nothing_is_pruned(sample):
    from eni.runtime.testing.apiserver.schema import validate_and_prune

    crd = crdgen.custom_resource_definition(type(sample))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    wire = sample.to_dict()
    pruned, causes = validate_and_prune(wire, schema)
    assert causes == []
    assert pruned["spec"] == wire["spec"] and pruned["status"] == wire["status"]


def test_the_schema_refuses_what_the_types_refuse():
    from eni.runtime.testing.apiserver.schema import validate_and_prune

    schema = crdgen.custom_resource_definition(VpcIP)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    bad = {"apiVersion": "networking.tke.cloud.tencent.com/v1", "kind": "VpcIP", "metadata": {"name": "10.0.0.1"},
           "spec": {"type": "Elastic", "nodeName": 3}}
    _, causes = validate_and_prune(bad, schema)
    assert {cause.field for cause in causes} >= {"spec.type", "spec.nodeName", "spec.subnetId"}
