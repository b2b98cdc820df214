"""CNI install: files written atomically, only when changed, with the right modes; conflist shape; uninstall."""

import json
import os

import pytest

from eni.agent.install import CniInstallSettings, conflist, install, uninstall, write_if_changed


@pytest.fixture
def settings(tmp_path):
    return CniInstallSettings(agent_socket=tmp_path / "agent.json.sock", cni_bin_dir=tmp_path / "bin",
                              cni_conf_dir=tmp_path / "net.d")


PLUGINS = {"tke-route-eni": b"#!/bin/sh\necho route\n", "tke-eni-ipamc": b"#!/bin/sh\necho ipam\n"}


def test_install_writes_plugins_and_conflist_then_nothing_when_unchanged(settings):
    changed = install(settings, PLUGINS)
    assert sorted(p.name for p in changed) == ["10-tke-eni.conflist", "tke-eni-ipamc", "tke-route-eni"]
    route = settings.cni_bin_dir / "tke-route-eni"
    assert route.read_bytes() == PLUGINS["tke-route-eni"] and os.stat(route).st_mode & 0o777 == 0o755
    conf = json.loads((settings.cni_conf_dir / "10-tke-eni.conflist").read_text())
    assert conf == {"cniVersion": "1.0.0", "name": "tke-eni",
                    "plugins": [{"type": "tke-route-eni", "agentSocket": str(settings.agent_socket)}]}
    inode = route.stat().st_ino
    assert install(settings, PLUGINS) == []
    assert route.stat().st_ino == inode
    assert sorted(os.listdir(settings.cni_bin_dir)) == ["tke-eni-ipamc", "tke-route-eni"]  # no temp left


def test_a_changed_plugin_is_replaced_by_rename(settings):
    install(settings, PLUGINS)
    route = settings.cni_bin_dir / "tke-route-eni"
    inode = route.stat().st_ino
    assert install(settings, dict(PLUGINS, **{"tke-route-eni": b"new"})) == [route]
    assert route.read_bytes() == b"new" and route.stat().st_ino != inode


def test_a_wrong_mode_is_repaired(settings):
    install(settings, PLUGINS)
    route = settings.cni_bin_dir / "tke-route-eni"
    os.chmod(route, 0o644)
    assert install(settings, PLUGINS) == [route]
    assert os.stat(route).st_mode & 0o777 == 0o755


def test_port_mapping_chains_portmap(settings):
    conf = conflist(CniInstallSettings(agent_socket=settings.agent_socket, port_mapping=True, mtu=1450))
    assert conf["plugins"][0]["mtu"] == 1450
    assert conf["plugins"][1] == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def test_bad_plugin_names_are_refused_before_anything_is_written(settings):
    with pytest.raises(ValueError):
        install(settings, {"../evil": b"x"})
    assert not settings.cni_bin_dir.exists()


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "f"
    write_if_changed(path, b"old", mode=0o644)

    def broken_rename(src, dst):
        raise OSError(28, "disk full")

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(OSError):
        write_if_changed(path, b"new", mode=0o644)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]


def test_uninstall_removes_only_ours(settings):
    install(settings, PLUGINS)
    (settings.cni_bin_dir / "portmap").write_bytes(b"x")
    removed = uninstall(settings)
    assert len(removed) == 3
    assert os.listdir(settings.cni_bin_dir) == ["portmap"] and os.listdir(settings.cni_conf_dir) == []
    assert uninstall(settings) == []
