"""The Dockerfile, checked without a container engine: what it copies exists and builds a complete wheel.

No Docker here, so the build is checked piece by piece: the instructions' shape (multi-stage, slim base,
non-root user matching the manifests), every COPY source present and not dropped by .dockerignore, and the
build context those COPYs make installs into a wheel holding every module and console script.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import manifests
import pytest

REPO = manifests.REPO
BASE_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(path: Path = REPO / "Dockerfile") -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore drops ``relative`` (or a folder it is in); ``**/`` matches at any depth."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def copy_sources() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context (not ``--from`` another stage)."""
    copies = []
    for ins in instructions():
        if ins.keyword == "COPY" and "--from=" not in ins.arguments:
            *sources, destination = ins.arguments.split()
            copies.append((sources, destination))
    return copies


def stages() -> list[list[Instruction]]:
    grouped: list[list[Instruction]] = []
    for ins in instructions():
        if ins.keyword == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(ins)
    return grouped


def test_multi_stage_build_on_the_slim_python_311_image():
    args = {i.arguments.split("=", 1)[0]: i.arguments.split("=", 1)[1] for i in instructions() if i.keyword == "ARG"}
    assert args.get("PYTHON_IMAGE") == BASE_IMAGE
    froms = [stage[0].arguments.split()[0] for stage in stages()]
    assert len(froms) >= 2
    assert all(f in ("${PYTHON_IMAGE}", BASE_IMAGE) for f in froms)
    final = stages()[-1]
    assert not any(i.keyword == "COPY" and "--from=" not in i.arguments for i in final), \
        "the runtime stage copies only what the build stage installed"


def test_every_copy_source_exists_and_is_in_the_build_context():
    patterns = ignore_patterns()
    for sources, _ in copy_sources():
        for source in sources:
            path = REPO / source
            assert path.exists(), f"COPY {source}: no such file"
            assert not ignored(source.rstrip("/"), patterns), f"COPY {source}: dropped by .dockerignore"


def test_dockerignore_keeps_bytecode_and_tests_out():
    patterns = ignore_patterns()
    assert ignored("eni/runtime/__pycache__/meta.cpython-311.pyc", patterns)
    assert ignored("test/unit/runtime/test_queue.py", patterns)
    assert not ignored("eni/runtime/meta.py", patterns)


def test_the_runtime_user_is_the_non_root_user_of_the_manifests(rendered):
    final = stages()[-1]
    users = [i.arguments for i in final if i.keyword == "USER"]
    assert users, "the runtime stage must switch to an unprivileged user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    created = " ".join(i.arguments for i in final if i.keyword == "RUN")
    assert f"--uid {uid}" in created and f"--gid {gid or uid}" in created
    for name in ("tke-eni-ipamd", "tke-eni-ip-scheduler"):
        pod = rendered["static-ip"].named("Deployment", name)["spec"]["template"]["spec"]
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(uid), int(gid))
    agent = rendered["non-static"].named("DaemonSet", "tke-eni-agent")["spec"]["template"]["spec"]["containers"][0]
    assert agent["securityContext"]["runAsUser"] == 0


def test_the_programs_are_on_the_path_of_the_runtime_stage(pyproject):
    final = stages()[-1]
    env = " ".join(i.arguments for i in final if i.keyword == "ENV")
    assert "PATH=/opt/tke-eni/bin:$PATH" in env
    assert any(i.keyword == "COPY" and i.arguments.split()[-1] == "/opt/tke-eni" for i in final)
    build = stages()[0]
    assert any(i.keyword == "RUN" and "/opt/tke-eni/bin/pip install ." in i.arguments for i in build)


@pytest.mark.slow
def test_the_copied_context_builds_a_wheel_with_every_module_and_program(tmp_path: Path, pyproject):
    """Stage exactly what the COPYs take (minus .dockerignore) and build the wheel the image installs."""
    patterns = ignore_patterns()
    context = tmp_path / "context"
    for sources, _ in copy_sources():
        for source in sources:
            path = REPO / source
            if path.is_file():
                (context / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, context / source)
                continue
            for item in path.rglob("*"):
                relative = item.relative_to(REPO).as_posix()
                if item.is_file() and not ignored(relative, patterns):
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(item, context / relative)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "--wheel-dir", str(tmp_path / "wheels"), str(context)],
                          capture_output=True, text=True, timeout=110, check=False)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for script, target in pyproject["project"]["scripts"].items():
        assert f"{script} = {target}" in entry_points
        module = target.split(":")[0].replace(".", "/") + ".py"
        assert module in names, module
    tracked = subprocess.run(["git", "ls-files", "eni"], cwd=REPO, capture_output=True, text=True, timeout=30,
                             check=True).stdout.split()
    missing = [p for p in tracked if p.endswith(".py") and p not in names]
    assert missing == []
