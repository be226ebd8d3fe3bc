"""The Label Studio labeling config: generated from :mod:`indoevent.schema`, and checked against it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..schema import COLORS, ENTITY_CONTROL, ENTITY_LABELS, EVENT_CONTROL, EVENT_LABELS, ROLES, TEXT_NAME


def render_config() -> str:
    """The labeling config XML for schema v1 (what ``annotations/label_config.xml`` holds)."""
    def labels(name: str, values: tuple[str, ...]) -> str:
        inner = "\n".join(f'    <Label value="{v}" background="{COLORS[v]}"/>' for v in values)
        return f'  <Labels name="{name}" toName="{TEXT_NAME}">\n{inner}\n  </Labels>'
    rel = "\n".join(f'    <Relation value="{r}"/>' for r in ROLES)
    return (
        "<View>\n"
        '  <Header value="Entities: who, where, when"/>\n'
        f"{labels(ENTITY_CONTROL, ENTITY_LABELS)}\n"
        '  <Header value="Event triggers (PLOVER)"/>\n'
        f"{labels(EVENT_CONTROL, EVENT_LABELS)}\n"
        f"  <Relations>\n{rel}\n  </Relations>\n"
        # Character granularity: spans must be able to end before a clitic ("kunjungan|nya")
        # and inside hyphenated names ("Kim-Xi"), which word snapping would not allow.
        f'  <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>\n'
        "</View>\n"
    )


def check_config(xml: str) -> list[str]:
    """Differences between a labeling config and the package's label set (empty: they agree)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    problems = []
    texts = [t.get("name") for t in root.iter("Text")]
    if texts != [TEXT_NAME]:
        problems.append(f"expected one <Text name={TEXT_NAME!r}>, found {texts}")
    controls = {c.get("name"): c for c in root.iter("Labels")}
    for name, expected in ((ENTITY_CONTROL, ENTITY_LABELS), (EVENT_CONTROL, EVENT_LABELS)):
        c = controls.pop(name, None)
        if c is None:
            problems.append(f"missing <Labels name={name!r}>")
            continue
        if c.get("toName") != TEXT_NAME:
            problems.append(f"<Labels name={name!r}> points to {c.get('toName')!r}, not {TEXT_NAME!r}")
        got = [lab.get("value") for lab in c.iter("Label")]
        if got != list(expected):
            problems.append(f"<Labels name={name!r}> has {got}, expected {list(expected)}")
        colours = [lab.get("background") for lab in c.iter("Label")]
        if len(set(colours)) != len(colours):
            problems.append(f"<Labels name={name!r}> repeats a colour")
    for extra in controls:
        problems.append(f"unexpected <Labels name={extra!r}>")
    rels = [r.get("value") for r in root.iter("Relation")]
    if rels != list(ROLES):
        problems.append(f"<Relations> has {rels}, expected {list(ROLES)}")
    return problems


def check_config_file(path: str | Path) -> list[str]:
    return check_config(Path(path).read_text(encoding="utf-8"))
