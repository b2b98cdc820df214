"""AgentMetrics: API latency by method, errors by reason, and gauges read at scrape time; wired through
AgentHandlers' observer so that every call through either edge is counted."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from eni.agent.errors import PoolExhaustedError
from eni.agent.handlers import AgentHandlers
from eni.agent.ledger import Ledger
from eni.agent.metrics import AgentMetrics
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import parse_pool
from eni.agent.service import AgentService
from eni.rpc import agent_pb2 as pb


def test_calls_are_timed_and_failures_counted_by_reason(store, clock, status_of):
    registry = CollectorRegistry()
    service = AgentService(Ledger(store, clock=clock), FakePodNetworker())
    service.update_pool(parse_pool(status_of.two_enis(1, 0)), {"02:00:00:00:00:0a": 2003})
    metrics = AgentMetrics(registry, allocations=lambda: len(service.ledger.in_use()), pool_ips=lambda: 7,
                           direct_enis=lambda: 2)
    handlers = AgentHandlers(service, observe=metrics.observe)
    allocate = handlers.methods["/tke.eni.agent.v1.Ipam/Allocate"].handler
    request = pb.AllocateRequest(key=pb.AttachmentKey(network_name="n", container_id="c1", ifname="eth0"))
    allocate(request)
    request.key.container_id = "c2"
    with pytest.raises(PoolExhaustedError):
        allocate(request)
    text = generate_latest(registry).decode()
    assert 'tke_eni_agent_request_duration_seconds_count{method="Allocate"} 2.0' in text
    assert 'tke_eni_agent_request_errors_total{method="Allocate",reason="POOL_EXHAUSTED"} 1.0' in text
    assert "tke_eni_agent_allocations 1.0" in text and "tke_eni_agent_pool_ips 7.0" in text
    assert "tke_eni_agent_direct_enis 2.0" in text
