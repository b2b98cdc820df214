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
    cloud = make_cloud(task_delay=0.0)
    enis = []
    for instance in (cloud.INS_MEDIUM, cloud.INS_2XL):
        for _ in range(3 if instance == cloud.INS_MEDIUM else 5):
            eni_id = cloud.create_eni()["NetworkInterfaceId"]
            cloud.done("AttachNetworkInterface", {"NetworkInterfaceId": eni_id, "InstanceId": instance})
            enis.append((eni_id, 10 if instance == cloud.INS_MEDIUM else 20))
    errors = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        eni_id, _ = enis[index % len(enis)]
        for round_ in range(8):
            try:
                reply = cloud.call("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                                "SecondaryPrivateIpAddressCount": 3})
                cloud.wait_vpc_task(reply["RequestId"])
                if round_ % 2:
                    ips = [{"PrivateIpAddress": p["PrivateIpAddress"]} for p in reply["PrivateIpAddressSet"]]
                    cloud.wait_vpc_task(cloud.call("UnassignPrivateIpAddresses", {
                        "NetworkInterfaceId": eni_id, "PrivateIpAddresses": ips})["RequestId"])
            except TencentCloudSDKException as e:
                with lock:
                    errors[e.get_code()] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert cloud.emu.wait_tasks()
    assert set(errors) <= {"UnsupportedOperation.MutexOperationTaskRunning", "LimitExceeded"}
    snapshot = cloud.emu.snapshot()
    all_ips = [p["PrivateIpAddress"] for e in snapshot["networkInterfaces"] for p in e["PrivateIpAddressSet"]]
    assert len(all_ips) == len(set(all_ips)), "an IP is on two ENIs"
    for eni_id, quota in enis:
        assert len(cloud.ips(eni_id)) <= quota
    used = {s["SubnetId"]: s["TotalIpAddressCount"] - s["AvailableIpAddressCount"] for s in snapshot["subnets"]}
    assert used["subnet-gz3a0001"] == sum(1 for ip in all_ips if ip.startswith("10.0.1."))
    assert sum(len(cloud.ips(e)) for e, _ in enis) > len(enis)  # the hammering did assign
