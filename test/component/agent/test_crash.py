"""Crash safety: the agent killed with SIGKILL during ADD and restarted on the same state dir loses no IP,
duplicates none, answers the runtime's retried ADD, and DEL cleans up."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.ledger import Ledger


def _status():
    return {"enis": [{"eniId": "eni-a", "mac": "02:00:00:00:00:0a", "primaryIP": "10.0.1.10",
                      "subnetCIDR": "10.0.1.0/24", "gateway": "10.0.1.1", "type": "route",
                      "ips": [{"ip": f"10.0.1.{20 + i}", "state": "Bound"} for i in range(12)]}]}


class DevServer:
    def __init__(self, root):
        self.root = root
        self.pool = root / "status.json"
        self.pool.write_text(json.dumps(_status()))
        self.json_socket = root / "run" / "agent.json.sock"
        self.ledger_file = root / "state" / "ledger.json"
        self.proc = None

    def start(self, *, setup_delay=0.0):
        cmd = [sys.executable, "-m", "eni.agent.devserver", "--state-dir", str(self.root / "state"),
               "--grpc-socket", str(self.root / "run" / "agent.sock"), "--json-socket", str(self.json_socket),
               "--pool", str(self.pool), "--setup-delay", str(setup_delay)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        assert line.strip() == b"READY", line

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()

    def recorded(self):
        """What the ledger holds on disk (checkpoint and journal), as an agent starting now would read it."""
        journal = self.ledger_file.with_name(self.ledger_file.name + ".journal")
        with tempfile.TemporaryDirectory() as copy:
            # NB: a copy, since reading cleans up temp files the running agent may be writing; the journal first,
            # so that a compaction between the two copies leaves a journal older than the checkpoint, not newer.
            for source in (journal, self.ledger_file):
                try:
                    shutil.copyfile(source, Path(copy) / source.name)
                except FileNotFoundError:
                    pass
            ledger = Ledger(JsonFileCheckpointer.at(Path(copy) / self.ledger_file.name))
            return {a.key.container_id: str(a.ip) for a in ledger.allocations()}


@pytest.fixture
def server(short_dir):
    srv = DevServer(short_dir)
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.kill()


def cni(plugin_dir, server, command, container):
    doc = json.dumps({"cniVersion": "1.0.0", "name": "tke-eni", "type": "tke-route-eni",
                      "agentSocket": str(server.json_socket), "timeoutSeconds": 20}).encode()
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": f"/var/run/netns/{container}",
           "CNI_IFNAME": "eth0", "CNI_PATH": str(plugin_dir)}
    proc = subprocess.run([str(plugin_dir / "tke-route-eni")], input=doc, env=env, capture_output=True, timeout=30)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_kill_during_add_then_retry_and_del(server, plugin_dir):
    server.start(setup_delay=30)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(cni, plugin_dir, server, "ADD", "c1")
        wait_for(lambda: "c1" in server.recorded())  # durable, netns set-up in flight
        server.kill()
        rc, error = pending.result(timeout=30)
    assert rc == 1 and error["code"] == 11
    recorded_ip = server.recorded()["c1"]

    server.start()
    rc, result = cni(plugin_dir, server, "ADD", "c1")  # the runtime's retry
    assert rc == 0 and result["ips"][0]["address"] == f"{recorded_ip}/32"
    assert server.recorded() == {"c1": recorded_ip}
    assert cni(plugin_dir, server, "DEL", "c1") == (0, None)
    assert server.recorded() == {}


@pytest.mark.slow
def test_kills_at_random_instants_never_lose_or_duplicate(server, plugin_dir):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    answered = {}
    for round_ in range(4):
        server.start(setup_delay=0.02)
        containers = [f"r{round_}c{i}" for i in range(3)]
        with ThreadPoolExecutor(3) as pool:
            futures = {c: pool.submit(cni, plugin_dir, server, "ADD", c) for c in containers}
            time.sleep(rng.uniform(0.0, 0.25))
            server.kill()
            for c, f in futures.items():
                rc, result = f.result(timeout=30)
                if rc == 0:
                    answered[c] = result["ips"][0]["address"].split("/")[0]
        recorded = server.recorded()
        assert len(set(recorded.values())) == len(recorded), "one IP recorded for two containers"
        for c, ip in answered.items():
            assert recorded.get(c) == ip, f"{c} got {ip} but the ledger lost it"
    server.start()
    for round_ in range(4):
        for i in range(3):
            c = f"r{round_}c{i}"
            rc, result = cni(plugin_dir, server, "ADD", c)
            assert rc == 0, result
            ip = result["ips"][0]["address"].split("/")[0]
            assert answered.setdefault(c, ip) == ip
    assert len(set(answered.values())) == 12
    for c in answered:
        assert cni(plugin_dir, server, "DEL", c) == (0, None)
    assert server.recorded() == {}
