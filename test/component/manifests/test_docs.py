"""The docs say what the code does: generated flag tables are fresh, every key is documented, links resolve,
and the "not implemented" marks of the operator guide still match the programs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import manifests
import pytest

from eni.api.v1 import constants

REPO = manifests.REPO
DOCS = REPO / "docs"
GUIDE = DOCS / "operator-guide.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_flag_docs", REPO / "hack" / "gen-flag-docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_flag_tables_match_the_programs():
    generator = load_generator()
    current = GUIDE.read_text(encoding="utf-8")
    assert generator.render(current) == current, "stale flag tables: run .venv/bin/python hack/gen-flag-docs.py"


def test_the_generator_notices_a_flag_the_docs_lack():
    generator = load_generator()
    current = GUIDE.read_text(encoding="utf-8")
    edited = current.replace("| `--region` TEXT |", "| `--regions` TEXT |", 1)
    assert edited != current
    assert generator.render(edited) != edited


def test_a_guide_without_a_programs_block_is_refused(tmp_path: Path):
    generator = load_generator()
    guide = tmp_path / "guide.md"
    guide.write_text("<!-- BEGIN FLAGS tke-eni-ipamd -->\n<!-- END FLAGS tke-eni-ipamd -->\n", encoding="utf-8")
    with pytest.raises(KeyError):
        generator.main(["--check", "--guide", str(guide)])


def test_every_annotation_and_label_key_is_documented():
    guide = GUIDE.read_text(encoding="utf-8")
    keys = {value for name, value in vars(constants).items()
            if name.startswith(("ANNOTATION_", "LABEL_")) and isinstance(value, str)}
    assert keys
    missing = sorted(k for k in keys if f"`{k.removeprefix(constants.PREFIX)}`" not in guide)
    assert missing == []


def test_every_shared_setting_is_documented():
    guide = GUIDE.read_text(encoding="utf-8")
    keys = [line.split("=", 1)[0] for line in
            (manifests.CONFIG / "base" / "settings.env").read_text(encoding="utf-8").splitlines() if "=" in line]
    assert [k for k in keys if f"| `{k}` |" not in guide] == []


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_resolve(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        resolved = (DOCS / path) if path else DOCS / page
        assert resolved.is_file(), f"{page}: broken link {target}"
        if anchor:
            assert anchor in anchors(resolved.read_text(encoding="utf-8")), f"{page}: no anchor {target}"


def test_the_guide_documents_every_program_of_the_manifests(rendered):
    guide = GUIDE.read_text(encoding="utf-8")
    programs = {c["command"][0] for r in rendered.values() for _, c in r.containers()}
    assert all(f"### {p}" in guide for p in programs)


def test_the_taint_and_its_events_are_named_as_ipamd_writes_them():
    from eni.controllers import events
    from eni.controllers.nodepool import nodefacts

    guide = GUIDE.read_text(encoding="utf-8")
    taint = f"`{nodefacts.TAINT_KEY}={nodefacts.TAINT_VALUE}:{nodefacts.TAINT_EFFECT}`"
    assert taint in guide
    assert guide.count("eni-ip-unavailable") == guide.count(taint)
    for reason in (events.NODE_TAINTED, events.NODE_UNTAINTED, events.INVALID_ANNOTATION):
        assert f"`{reason}`" in guide


def test_the_subnet_label_example_is_what_ipamd_writes():
    from eni.controllers.nodepool import nodefacts

    patch = nodefacts.subnet_label_patch({"metadata": {}}, ["subnet-b", "subnet-a"])
    assert patch is not None
    value = patch["metadata"]["labels"][constants.LABEL_ROUTE_ENI_SUBNET_IDS]
    assert f"`{value}`" in GUIDE.read_text(encoding="utf-8")
