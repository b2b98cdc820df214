"""The generated plugin executables: self-contained, stdlib-only, Python 3.8 syntax, runnable without eni."""

import ast
import glob
import json
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import eni.cni
from eni.cni import bundle, jsonio
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


@pytest.fixture(scope="module")
def python():
    """This interpreter under a short path: the fast layout's first line must stay within 127 bytes, and a
    checkout's venv path may be long. (The plugins need only the standard library, not the venv.)"""
    folder = tempfile.mkdtemp(prefix="tke", dir="/tmp")
    os.symlink(sys.executable, os.path.join(folder, "python"))
    yield os.path.join(folder, "python")
    shutil.rmtree(folder)


def _interpreter(layout, python):
    if layout == "fast":  # a path and one flag cluster with -I: the loader rides on the first line
        return f"{python} -IS"
    return f"/usr/bin/env -S {python} -IS"  # anything else: a script of string literals


def _is_fast(data):
    return data.split(b"\n", 1)[0].endswith(b"-IScimport sys;f=open(sys.argv[1],'rb');f.readline();exec(f.readline())")


def _fast_payload(data):
    """The fast layout's (tag, compiled start, start source, hot, cold, sources)."""
    return marshal.loads(data.split(b"\n", 2)[2])


def _run_with_probe(tmp_path, data, probe):
    """Runs the plugin's loading code with its last line (the entry point) replaced by ``probe``."""
    exe = tmp_path / "plugin"
    if _is_fast(data):
        tag, _, start_source, *modules = _fast_payload(data)
        entry = start_source.rstrip("\n").rpartition("\n")[2]
        start = bundle._COMPILED_START.rstrip("\n").rpartition("\n")[0] + "\n" + probe
        payload = marshal.dumps((tag, marshal.dumps(compile(start, "<probe>", "exec")), start_source, *modules))
        first, second, _ = data.split(b"\n", 2)
        exe.write_bytes(first + b"\n" + second + b"\n" + payload)
    else:
        body, _, entry = data.decode().rstrip("\n").rpartition("\n")
        exe.write_text(body + "\n" + probe)
    os.chmod(exe, 0o755)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return entry, proc.stdout


@pytest.mark.parametrize("layout", ["fast", "script"])
def test_only_the_hot_modules_run_at_start_and_the_rest_on_first_use(tmp_path, layout, python):
    probe = """
_boot(_codes, _sources)
print(sorted(m for m in sys.modules if m.startswith("tke_cni.")))
sys.modules["tke_cni"].fallback
print(sorted(m for m in sys.modules if m.startswith("tke_cni.")))
"""
    data = build_plugin("tke-route-eni", interpreter=_interpreter(layout, python))
    assert _is_fast(data) == (layout == "fast")
    entry, out = _run_with_probe(tmp_path, data, probe)
    assert entry.startswith("sys.exit(getattr(_boot(_codes, _sources), 'main_route_eni')('/run/tke-eni/")
    first, then = out.splitlines()
    assert eval(first) == sorted("tke_cni." + m for m in HOT_MODULES)
    assert eval(then) == sorted("tke_cni." + m for m in MODULES)


def test_the_fast_layout_never_has_the_interpreter_parse_its_payload():
    data = build_plugin("tke-route-eni", interpreter="/usr/bin/python3 -IS")
    first, second, payload = data.split(b"\n", 2)
    assert first == b"#!/usr/bin/python3 -IScimport sys;f=open(sys.argv[1],'rb');f.readline();exec(f.readline())"
    assert len(first) <= 127, "kernels before 5.1 read 127 bytes of the first line"
    tag, start, start_source, hot, cold, sources = marshal.loads(payload)
    assert tag == sys.implementation.cache_tag
    assert type(marshal.loads(start)).__name__ == "code" and "compile(" in start_source
    assert set(marshal.loads(hot)) == {"__boot__", *HOT_MODULES}
    assert len(second) < 600 and len(payload) > 10 * len(second)


@pytest.mark.parametrize("interpreter", [
    "/usr/bin/env -S python3 -IS",  # env splits words: the flag cluster would not stay one argument
    "/usr/bin/python3 -S",  # without -I, Python would put the working directory first on sys.path
    "/usr/bin/python3 -IX",  # a flag that takes an argument
    "/usr/bin/python3",
    "/" + "p" * 60 + "/python3 -IS",  # the first line would pass 127 bytes
])
def test_other_interpreter_lines_get_the_script_layout(interpreter):
    data = build_plugin("tke-route-eni", interpreter=interpreter)
    assert data.startswith(b"#!" + interpreter.encode() + b"\n# tke-route-eni: the tke-eni CNI plugin")
    entry = b"sys.exit(getattr(_boot(_codes, _sources), 'main_route_eni')('/run/tke-eni/agent.json.sock'))\n"
    assert data.endswith(entry)


def test_the_agent_socket_is_built_in():
    assert build_plugin("tke-eni-ipamc", agent_socket="/run/x/a.sock").endswith(
        b"sys.exit(getattr(_boot(_codes, _sources), 'main_ipamc')('/run/x/a.sock'))\n")
    fast = build_plugin("tke-eni-ipamc", interpreter="/usr/bin/python3 -IS", agent_socket="/run/x/a.sock")
    _, start, start_source, *_ = _fast_payload(fast)
    assert start_source.endswith("sys.exit(getattr(_boot(_codes, _sources), 'main_ipamc')('/run/x/a.sock'))\n")
    assert "/run/x/a.sock" in marshal.loads(start).co_consts
    with pytest.raises(ValueError, match="absolute path"):
        build_plugin("tke-route-eni", agent_socket="run/a.sock")


def test_build_is_reproducible_and_validates_its_input():
    assert build_plugin("tke-route-eni") == build_plugin("tke-route-eni")
    fast = "/usr/bin/python3 -IS"
    assert build_plugin("tke-route-eni", interpreter=fast) == build_plugin("tke-route-eni", interpreter=fast)
    assert build_plugin("tke-route-eni").startswith(b"#!/usr/bin/env -S python3 -IS\n")
    with pytest.raises(ValueError, match="unknown plugin"):
        build_plugin("nope")
    with pytest.raises(ValueError, match="absolute"):
        build_plugin("tke-route-eni", interpreter="python3\nimport os")


def _as_if_built_by_another_python(data):
    """``data`` with the cache tag of its compiled modules changed, as a plugin built by another Python looks to
    this one: the embedded code must be ignored and the sources compiled."""
    tag = sys.implementation.cache_tag.encode()
    other = b"x" * len(tag)
    if _is_fast(data):
        first, second, payload = data.split(b"\n", 2)
        assert payload.count(tag) == 1
        return first + b"\n" + second + b"\n" + payload.replace(tag, other)
    quoted = repr(tag.decode()).encode()
    assert data.count(quoted) == 1
    return data.replace(quoted, repr(other.decode()).encode())


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("layout", ["fast", "script"])
@pytest.mark.parametrize("use_code", [True, False], ids=["marshal", "source-fallback"])
def test_the_executable_runs_in_an_empty_environment(tmp_path, name, layout, use_code, python):
    data = build_plugin(name, interpreter=_interpreter(layout, python))
    assert _is_fast(data) == (layout == "fast")
    if not use_code:
        data = _as_if_built_by_another_python(data)
    exe = tmp_path / name
    exe.write_bytes(data)
    os.chmod(exe, 0o755)
    proc = subprocess.run([str(exe)], input=b'{"cniVersion":"0.3.1"}', env={"CNI_COMMAND": "VERSION"},
                          capture_output=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cniVersion"] == "0.3.1"
    proc = subprocess.run([str(exe)], input=b"", env={}, capture_output=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 1 and json.loads(proc.stdout)["code"] == 4 and proc.stderr == b""
    # The slow path's modules load too (a bad config is reported by ``fallback``, a cold module).
    bad = subprocess.run([str(exe)], input=b"{bad", capture_output=True, timeout=30, cwd=tmp_path,
                         env={"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"})
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == 6 and bad.stderr == b""


def test_a_module_in_the_working_directory_is_never_imported(tmp_path, python):
    """The fast layout runs as ``python -I -c``: the runtime's working directory must not be on sys.path."""
    (tmp_path / "json.py").write_text("raise SystemExit('imported json.py from the working directory')\n")
    (tmp_path / "zlib.py").write_text("raise SystemExit('imported zlib.py from the working directory')\n")
    exe = tmp_path / "tke-route-eni"
    data = build_plugin("tke-route-eni", interpreter=_interpreter("fast", python))
    assert _is_fast(data)
    exe.write_bytes(_as_if_built_by_another_python(data))
    os.chmod(exe, 0o755)
    bad = subprocess.run([str(exe)], input=b"{bad", capture_output=True, timeout=30, cwd=tmp_path,
                         env={"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0", "CNI_NETNS": "/x"})
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == 6 and bad.stderr == b""


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


@pytest.mark.parametrize("layout", ["{} -IS", "/usr/bin/env -S {} -IS"], ids=["fast", "script"])
def test_the_executable_runs_under_python_3_8(tmp_path, layout):
    """The plugins run under the host's python3, which may be as old as 3.8: the embedded sources are compiled."""
    python38 = _python38()
    if python38 is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    exe = tmp_path / "tke-route-eni"
    exe.write_bytes(build_plugin("tke-route-eni", interpreter=layout.format(python38)))
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
