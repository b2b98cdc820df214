"""Golden request/response JSON of the extender protocol over the conftest scenario.

Requests are shaped like kube-scheduler's (k8s.io/kube-scheduler/extender/v1 ExtenderArgs: Go field names
``Pod``, ``Nodes`` (a NodeList, nodeCacheCapable: false) or ``NodeNames`` (nodeCacheCapable: true)); answers
must equal the golden ExtenderFilterResult / HostPriorityList byte for byte once parsed. Each pair goes
through the real HTTP server. ``UPDATE_GOLDEN=1`` rewrites the answers (review the diff before committing).
"""

import http.client
import json
import os
from pathlib import Path

import pytest

from eni.scheduler import ExtenderServer

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name.removesuffix(".request.json") for path in GOLDEN.glob("*.request.json"))


@pytest.fixture
def server(extender):
    srv = ExtenderServer(extender)
    srv.listen()
    yield srv
    srv.close()


def post(server, path, body):
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("case", CASES)
def test_golden(server, case):
    request = (GOLDEN / f"{case}.request.json").read_bytes()
    verb = case.split("_", 1)[0]
    status, content_type, body = post(server, f"/{verb}", request)
    assert (status, content_type) == (200, "application/json")
    answer = json.loads(body)
    golden = GOLDEN / f"{case}.response.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(answer, indent=2) + "\n")
    assert answer == json.loads(golden.read_text())


def test_every_golden_request_has_its_answer():
    assert len(CASES) >= 6
    for case in CASES:
        assert (GOLDEN / f"{case}.response.json").is_file(), case


def test_filter_answers_carry_exactly_the_go_field_names(server):
    _, _, body = post(server, "/filter", (GOLDEN / "filter_names_retained.request.json").read_bytes())
    assert list(json.loads(body)) == ["Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"]
    _, _, body = post(server, "/prioritize", (GOLDEN / "prioritize_names_plain.request.json").read_bytes())
    assert all(list(item) == ["Host", "Score"] for item in json.loads(body))
