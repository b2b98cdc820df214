"""20 threads assigning and unassigning across 10 ENIs: no duplicate IP, no quota overrun, and the
emulator's final state equals what the adapter reported."""

from __future__ import annotations

import random
import threading
from collections import defaultdict

import pytest

from eni.cloud import errors
from eni.cloud.types import EniId, InstanceId, SubnetId

THREADS = 20
OPERATIONS = 12


@pytest.mark.slow
def test_many_threads_many_enis(vpc, emulator) -> None:
    nodes = [emulator.add_instance(zone="ap-guangzhou-3", instance_type="S5.2XLARGE16")["InstanceId"]
             for _ in range(2)]
    enis: list[EniId] = []
    for node in nodes:
        for i in range(5):
            eni = vpc.create_eni(intent=f"{node}/eni-{i}", subnet_id=SubnetId("subnet-gz3a0001"), name=f"c{i}")
            vpc.attach_eni(eni.id, InstanceId(node))
            enis.append(eni.id)
    quota = vpc.describe_eni_limits(InstanceId(nodes[0])).max_secondary_ips_per_eni

    lock = threading.Lock()
    held: dict[str, EniId] = {}  # IP -> ENI, as the adapter reported it
    problems: list[str] = []
    outcomes: dict[str, int] = defaultdict(int)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[EniId, list[str]] = defaultdict(list)
        for op in range(OPERATIONS):
            eni_id = rng.choice(enis)
            try:
                if mine[eni_id] and rng.random() < 0.5:
                    release = mine[eni_id][: rng.randint(1, len(mine[eni_id]))]
                    # NB: forget the IPs before the call: once the cloud has them back, another
                    # thread may be given them before this one returns.
                    with lock:
                        for ip in release:
                            del held[ip]
                    try:
                        vpc.unassign_private_ips(eni_id, release)
                    except (errors.QuotaExceeded, errors.Busy):
                        with lock:
                            held.update(dict.fromkeys(release, eni_id))
                        raise
                    mine[eni_id] = mine[eni_id][len(release):]
                    outcomes["unassigned"] += 1
                else:
                    got = vpc.assign_private_ips(eni_id, intent=f"w{seed}/op{op}", count=rng.randint(1, 4))
                    with lock:
                        for ip in got:
                            if ip.address in held:
                                problems.append(f"{ip.address} on {eni_id} and {held[ip.address]}")
                            held[ip.address] = eni_id
                        if sum(1 for e in held.values() if e == eni_id) > quota:
                            problems.append(f"{eni_id} over quota")
                    mine[eni_id].extend(ip.address for ip in got)
                    outcomes["assigned"] += 1
            except (errors.QuotaExceeded, errors.Busy) as e:
                # Refused before any change: nothing to record.
                outcomes[type(e).__name__] += 1
            except BaseException as e:  # anything else is a failure of the test
                problems.append(f"worker {seed}: {e!r}")
                return

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not problems
    assert outcomes["assigned"] > THREADS and outcomes["unassigned"] > 0, dict(outcomes)

    assert emulator.wait_tasks(timeout=5)
    cloud: dict[str, str] = {}
    for raw in emulator.snapshot()["networkInterfaces"]:
        if raw["NetworkInterfaceId"] not in enis:
            continue
        secondaries = [ip["PrivateIpAddress"] for ip in raw["PrivateIpAddressSet"] if not ip["Primary"]]
        assert len(secondaries) <= quota
        for ip in secondaries:
            assert ip not in cloud, f"{ip} on two ENIs"
            cloud[ip] = raw["NetworkInterfaceId"]
    assert cloud == held
