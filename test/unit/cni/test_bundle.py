"""The generated plugin executables: self-contained, stdlib-only, Python 3.8 syntax, runnable without eni."""

import ast
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import eni.cni
from eni.cni import jsonio
from eni.cni.bundle import ENTRY_POINTS, MODULES, build_plugin

CNI_DIR = Path(eni.cni.__file__).parent
STDLIB_IMPORTS = {"__future__", "_json", "_socket", "binascii", "json", "marshal", "pathlib", "posix",
                  "shutil", "sys", "time", "typing", "zlib"}
HOT_MODULES = ("errors", "forward", "plugin")


def test_every_module_of_the_package_is_bundled():
    on_disk = {p.stem for p in CNI_DIR.glob("*.py")} - {"__init__", "bundle"}
    assert on_disk == set(MODULES)


@pytest.mark.parametrize("path", sorted(CNI_DIR.glob("*.py")), ids=lambda p: p.name)
def test_sources_parse_as_python_3_8_and_import_only_the_stdlib(path):
    tree = ast.parse(path.read_text(), feature_version=(3, 8))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = {node.module.split(".")[0]}
        else:
            continue
        assert names <= STDLIB_IMPORTS, f"{path.name} imports {names - STDLIB_IMPORTS}"


def test_the_hot_path_imports_only_modules_built_into_the_interpreter():
    for name in HOT_MODULES:
        tree = ast.parse((CNI_DIR / (name + ".py")).read_text())
        for node in tree.body:  # NB: module level only: imports inside functions run on the slow path
            if isinstance(node, ast.Import):
                assert {a.name for a in node.names} <= {"_socket", "posix", "time"}, name
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                assert node.level == 1 and (node.module or "") in ("", *HOT_MODULES), name


def test_only_the_hot_modules_run_at_start_and_the_rest_on_first_use(tmp_path):
    script = build_plugin("tke-route-eni", interpreter=f"{sys.executable} -IS").decode()
    body, _, entry = script.rstrip("\n").rpartition("\n")
    assert entry.startswith("sys.exit(getattr(_boot(_codes, _sources), 'main_route_eni')('/run/tke-eni/")
    probe = body + """
_boot(_codes, _sources)
print(sorted(m for m in sys.modules if m.startswith("tke_cni.")))
sys.modules["tke_cni"].fallback
print(sorted(m for m in sys.modules if m.startswith("tke_cni.")))
"""
    (tmp_path / "probe.py").write_text(probe)
    proc = subprocess.run([sys.executable, "-IS", str(tmp_path / "probe.py")], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    first, then = proc.stdout.splitlines()
    assert eval(first) == sorted("tke_cni." + m for m in HOT_MODULES)
    assert eval(then) == sorted("tke_cni." + m for m in MODULES)


def test_the_agent_socket_is_built_in():
    assert build_plugin("tke-eni-ipamc", agent_socket="/run/x/a.sock").endswith(
        b"sys.exit(getattr(_boot(_codes, _sources), 'main_ipamc')('/run/x/a.sock'))\n")
    with pytest.raises(ValueError, match="absolute path"):
        build_plugin("tke-route-eni", agent_socket="run/a.sock")


def test_build_is_reproducible_and_validates_its_input():
    assert build_plugin("tke-route-eni") == build_plugin("tke-route-eni")
    assert build_plugin("tke-route-eni").startswith(b"#!/usr/bin/env -S python3 -IS\n")
    with pytest.raises(ValueError, match="unknown plugin"):
        build_plugin("nope")
    with pytest.raises(ValueError, match="absolute"):
        build_plugin("tke-route-eni", interpreter="python3\nimport os")


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("use_code", [True, False], ids=["marshal", "source-fallback"])
def test_the_executable_runs_in_an_empty_environment(tmp_path, name, use_code):
    data = build_plugin(name, interpreter=f"{sys.executable} -IS")
    if not use_code:  # another Python version: the embedded code is ignored, the source compiled
        data = data.replace(b"if sys.implementation.cache_tag ==", b"if 'no-such-tag' ==", 1)
        assert b"'no-such-tag'" in data
    exe = tmp_path / name
    exe.write_bytes(data)
    os.chmod(exe, 0o755)
    proc = subprocess.run([str(exe)], input=b'{"cniVersion":"0.3.1"}', env={"CNI_COMMAND": "VERSION"},
                          capture_output=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cniVersion"] == "0.3.1"
    proc = subprocess.run([str(exe)], input=b"", env={}, capture_output=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 1 and json.loads(proc.stdout)["code"] == 4 and proc.stderr == b""


DOCS = ['{"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n\\"q\\""]}', " [ ] ", '"\\ud83d\\ude00"', "0", '{"": {}}']


@pytest.mark.parametrize("text", DOCS)
def test_jsonio_decodes_like_json(text):
    assert jsonio.loads(text) == json.loads(text)
    assert jsonio.loads(text.encode()) == json.loads(text)
    assert json.loads(jsonio.dumps(json.loads(text))) == json.loads(text)


@pytest.mark.parametrize("text", ["", "[1,", "{} x", "NaN", "[1,]", '{"a" 1}', "\"\\x\"", "{'a': 1}"])
def test_jsonio_rejects_what_json_rejects(text):
    with pytest.raises(ValueError):
        jsonio.loads(text)


@pytest.mark.parametrize("value", [float("nan"), {1: 2}, object()])
def test_jsonio_refuses_to_encode_non_json(value):
    with pytest.raises((TypeError, ValueError)):
        jsonio.dumps(value)


def _python38():
    candidates = ["/usr/bin/python3.8", "/usr/local/bin/python3.8",
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))]
    return next((p for p in candidates if os.access(p, os.X_OK)), None)


def test_the_executable_runs_under_python_3_8(tmp_path):
    """The plugins run under the host's python3, which may be as old as 3.8: the embedded sources are compiled."""
    python38 = _python38()
    if python38 is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    exe = tmp_path / "tke-route-eni"
    exe.write_bytes(build_plugin("tke-route-eni", interpreter=f"{python38} -IS"))
    os.chmod(exe, 0o755)
    proc = subprocess.run([str(exe)], input=b'{"cniVersion":"0.4.0"}', env={"CNI_COMMAND": "VERSION"},
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["supportedVersions"][-1] == "1.0.0"
    bad = subprocess.run([str(exe)], input=b"{bad", capture_output=True, timeout=30,
                         env={"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"})
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == 6 and bad.stderr == b""


def test_the_interpreter_is_resolved_so_the_kernel_execs_python_directly():
    from eni.cni.bundle import resolve_interpreter

    found = {"python3": "/opt/py/bin/python3"}
    assert resolve_interpreter("/usr/bin/env -S python3 -IS", which=found.get) == "/opt/py/bin/python3 -IS"
    assert resolve_interpreter("/usr/bin/env python3", which=found.get) == "/opt/py/bin/python3"
    assert resolve_interpreter("/usr/bin/env -S python9 -I", which=found.get) == "/usr/bin/env -S python9 -I"
    assert resolve_interpreter("/usr/bin/env -S -i python3", which=found.get) == "/usr/bin/env -S -i python3"
    assert resolve_interpreter("/usr/local/bin/python3 -I", which=found.get) == "/usr/local/bin/python3 -I"
