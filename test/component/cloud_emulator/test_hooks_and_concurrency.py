"""Hooks fire in order after the state changes; many threads assigning and unassigning keep every invariant."""

from __future__ import annotations

import threading
from collections import Counter

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from eni.cloud.emulator import EmulatorHooks, EniView


class RecordingHooks:
    def __init__(self, emu_box):
        self.events = []
        self.emu_box = emu_box

    def on_attach(self, eni: EniView, instance_id: str) -> None:
        # hooks run outside the state lock: calling back into the emulator must not deadlock
        self.emu_box[0].snapshot()
        self.events.append(("attach", eni.eni_id, instance_id, eni.mac))

    def on_detach(self, eni: EniView, instance_id: str) -> None:
        self.events.append(("detach", eni.eni_id, instance_id, eni.mac))

    def on_assign(self, eni_id: str, ips: tuple[str, ...]) -> None:
        self.events.append(("assign", eni_id, ips))

    def on_unassign(self, eni_id: str, ips: tuple[str, ...]) -> None:
        self.events.append(("unassign", eni_id, ips))
        raise RuntimeError("a broken hook must not break the emulator")


def test_hooks_fire_in_order(make_cloud):
    box = []
    hooks = RecordingHooks(box)
    _: EmulatorHooks = hooks
    cloud = make_cloud(hooks=hooks)
    box.append(cloud.emu)
    eni = cloud.create_eni()
    eni_id, mac = eni["NetworkInterfaceId"], eni["MacAddress"]
    cloud.done("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    assigned = cloud.done("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                       "SecondaryPrivateIpAddressCount": 2})
    ips = tuple(p["PrivateIpAddress"] for p in assigned["PrivateIpAddressSet"])
    cloud.done("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                              "PrivateIpAddresses": [{"PrivateIpAddress": ips[0]}]})
    cloud.done("DetachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": cloud.INS_MEDIUM})
    assert cloud.emu.wait_tasks()
    assert hooks.events == [
        ("attach", eni_id, cloud.INS_MEDIUM, mac),
        ("assign", eni_id, ips),
        ("unassign", eni_id, (ips[0],)),
        ("detach", eni_id, cloud.INS_MEDIUM, mac),
    ]
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4


def test_threads_hammering_assign_and_unassign(make_cloud):
    """20 threads assign and unassign across 10 ENIs: no duplicate IP, quotas hold, state matches the replies."""
    cloud = make_cloud(task_delay=0.005)
    cloud.emu.add_instance(zone="ap-guangzhou-3", instance_type="S5.4XLARGE32", instance_id="ins-big00001")
    enis = []  # (eni id, IP quota): 3 secondary ENIs on S5.MEDIUM4 (10 IPs), 7 on S5.4XLARGE32 (30 IPs)
    for instance, count, quota in ((cloud.INS_MEDIUM, 3, 10), ("ins-big00001", 7, 30)):
        for _ in range(count):
            eni_id = cloud.create_eni()["NetworkInterfaceId"]
            cloud.done("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": instance})
            enis.append((eni_id, quota))
    # What each worker's successful replies say it holds; per worker, because two workers share an ENI and
    # an IP one of them released may come back to the other.
    believed = [set() for _ in range(20)]
    errors = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        eni_id, _ = enis[index % len(enis)]
        for round_ in range(8):
            try:
                reply = cloud.call("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                                "SecondaryPrivateIpAddressCount": 4})
                ips = {p["PrivateIpAddress"] for p in reply["PrivateIpAddressSet"]}
                if cloud.wait_vpc_task(reply["RequestId"])["Status"] != "SUCCESS":
                    raise TencentCloudSDKException("TaskNotSucceeded", reply["RequestId"])
                believed[index] |= ips
                if round_ % 2:
                    specs = [{"PrivateIpAddress": ip} for ip in sorted(ips)]
                    unassigned = cloud.call("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                                           "PrivateIpAddresses": specs})
                    if cloud.wait_vpc_task(unassigned["RequestId"])["Status"] != "SUCCESS":
                        raise TencentCloudSDKException("TaskNotSucceeded", unassigned["RequestId"])
                    believed[index] -= ips
            except TencentCloudSDKException as e:
                with lock:
                    errors[e.get_code()] += 1
            except Exception as e:  # reported through the errors check below
                with lock:
                    errors[repr(e)] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert cloud.emu.wait_tasks()
    assert set(errors) <= {"UnsupportedOperation.MutexOperationTaskRunning", "LimitExceeded"}
    assert errors["LimitExceeded"] > 0  # the 10-IP ENIs did reach their quota
    snapshot = cloud.emu.snapshot()
    all_ips = [p["PrivateIpAddress"] for e in snapshot["networkInterfaces"] for p in e["PrivateIpAddressSet"]]
    assert len(all_ips) == len(set(all_ips)), "an IP is on two ENIs"
    for eni_id, quota in enis:
        primary, *secondaries = cloud.ips(eni_id)
        assert len(secondaries) + 1 <= quota
        assert set(secondaries) == set().union(*(believed[i] for i in range(20) if enis[i % len(enis)][0] == eni_id))
    used = {s["SubnetId"]: s["TotalIpAddressCount"] - s["AvailableIpAddressCount"] for s in snapshot["subnets"]}
    assert used["subnet-gz3a0001"] == sum(1 for ip in all_ips if ip.startswith("10.0.1."))
    assert sum(len(b) for b in believed) > 0


def test_stop_closes_kept_alive_connections(make_cloud):
    cloud = make_cloud()
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4  # opens a kept-alive connection
    cloud.emu.stop()
    code = cloud.error("DescribeSubnets")
    assert code in ("ClientNetworkError", "ServerNetworkError")
