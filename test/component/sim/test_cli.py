"""The user-facing sim subcommands refuse bad input clearly and change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SIM = str(Path(sys.executable).parent / "tke-eni-sim")


def _sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=60, check=False)


def test_check_exec_and_cni_check_need_a_cluster(tmp_path):
    for args in (("check",), ("exec", "web-0", "--", "true"), ("cni-check", "web-0")):
        result = _sim(args[0], "--state-dir", str(tmp_path), *args[1:])
        assert result.returncode == 2, result
        assert "no local cluster" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_down_of_nothing_is_a_no_op(tmp_path):
    result = _sim("down", "--state-dir", str(tmp_path / "never-up"))
    assert result.returncode == 0 and "stopped 0 processes, removed 0 namespaces" in result.stdout
    assert not (tmp_path / "never-up").exists()


def test_up_rejects_bad_settings_before_creating_anything(tmp_path):
    for args in (("--program", "kubectl=/bin/true"), ("--program", "tke-eni-agent"), ("--nodes", "0")):
        result = _sim("up", "--state-dir", str(tmp_path / "c"), *args)
        assert result.returncode == 2, result
    assert not (tmp_path / "c").exists()


def test_up_refuses_a_state_dir_that_holds_a_cluster(tmp_path):
    (tmp_path / "cluster.json").write_text('{"prefix": "tkesim-00aa11", "nodes": []}')
    result = _sim("up", "--state-dir", str(tmp_path))
    assert result.returncode == 1 and "already holds a cluster" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.json"]
