"""The shipped Label Studio config fits the tasks `rhetoric tasks export` writes and the
annotations `rhetoric tasks import` reads. Checked by parsing the XML here (Label Studio is far too
heavy a test dependency); Label Studio 1.23.2 itself accepted the config and wrote
tests/fixtures/label_studio_export.json with it (see tests/test_annotation.py), and the last test
holds that export against the config."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from rhetoric.labeling.annotation import (
    LABEL_STUDIO_CONFIG,
    label_studio_choices,
    parse_tasks,
    render_tasks,
)
from rhetoric.labeling.loop import key_map

ROOT = Path(__file__).resolve().parents[1]
REAL_EXPORT = ROOT / "tests/fixtures/label_studio_export.json"
LABELS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["labels"]
OBJECT_TAGS = {"Text", "HyperText", "Paragraphs"}  # Label Studio tags that show data
CONTROL_TAGS = {"Choices", "Labels", "TextArea", "Rating", "Taxonomy"}  # tags that make results


@pytest.fixture(scope="module")
def view() -> ElementTree.Element:
    return ElementTree.parse(LABEL_STUDIO_CONFIG).getroot()


@pytest.fixture(scope="module")
def tasks() -> list[dict]:
    rows = [
        {
            "doc": "d1",
            "idx": 2,
            "text": "We will open a consulate next year.",
            "label": "future_commitment",
            "scores": {**dict.fromkeys(LABELS, 0.1), "future_commitment": 0.7},
        },
        {
            "doc": "d2",
            "idx": 0,
            "text": "Warm greetings to the people.",
            "label": "greeting",
            "scores": {**dict.fromkeys(LABELS, 0.0), "greeting": 1.0},
        },
    ]
    return json.loads(render_tasks(rows, "labelstudio"))


def test_config_is_a_view_of_the_paragraph(view: ElementTree.Element) -> None:
    assert view.tag == "View"
    objects = {e.get("name"): e for e in view.iter() if e.tag in OBJECT_TAGS}
    assert list(objects) == ["text"] and objects["text"].get("value") == "$text"
    for control in (e for e in view.iter() if e.tag in CONTROL_TAGS):
        assert control.get("toName") in objects, control.attrib


def test_every_variable_in_the_config_is_a_field_of_the_exported_tasks(
    view: ElementTree.Element, tasks: list[dict]
) -> None:
    variables = {v for e in view.iter() for value in e.attrib.values() for v in re.findall(r"\$(\w+)", value)}
    assert variables == {"text", "doc", "idx"}
    for task in tasks:
        assert variables <= set(task["data"])


def test_label_choices_are_the_params_labels_with_annotates_hotkeys(view: ElementTree.Element) -> None:
    assert label_studio_choices() == LABELS
    control = next(c for c in view.iter("Choices") if c.get("name") == "label")
    assert control.get("choice") == "single-radio" and control.get("required") == "true"
    hotkeys = {c.get("hotkey"): c.get("value") for c in control.iter("Choice")}
    assert hotkeys == {k: v for k, v in key_map(LABELS).items() if k.isdigit()}
    secondary = next(c for c in view.iter("Choices") if c.get("name") == "secondary")
    assert [c.get("value") for c in secondary.iter("Choice")] == LABELS
    assert secondary.get("choice") == "multiple"


def test_pre_annotations_name_the_configs_control(view: ElementTree.Element, tasks: list[dict]) -> None:
    controls = {(c.get("name"), c.get("toName")): c for c in view.iter("Choices")}
    for task in tasks:
        for result in task["predictions"][0]["result"]:
            control = controls[(result["from_name"], result["to_name"])]
            assert result["type"] == control.tag.lower()
            assert set(result["value"]["choices"]) <= {c.get("value") for c in control.iter("Choice")}


def test_round_trip_through_the_configs_controls(tasks: list[dict]) -> None:
    """Annotations as Label Studio writes them for this config come back as label rows."""
    tasks[0]["annotations"] = [
        {
            "result": [
                {
                    "from_name": "secondary",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": ["historical_claim", "other"]},
                },
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["other"]}},
            ]
        }
    ]
    tasks[1]["annotations"] = [{"was_cancelled": True, "result": []}]
    rows = parse_tasks(json.dumps(tasks), "labelstudio", LABELS, "export.json").rows
    assert rows == [
        {
            "doc": "d1",
            "text": "We will open a consulate next year.",
            "label": "other",
            "secondary": ["historical_claim"],
        }
    ]


def test_a_real_label_studio_export_speaks_the_configs_names(view: ElementTree.Element) -> None:
    """What Label Studio wrote for this config: its data fields are the config's variables, its
    annotations' results name the config's controls and choose among their choices."""
    controls = {(c.get("name"), c.get("toName")): c for c in view.iter("Choices")}
    exported = json.loads(REAL_EXPORT.read_text(encoding="utf-8"))
    results = [r for task in exported for a in task["annotations"] for r in a["result"]]
    assert {r["from_name"] for r in results} == {"label", "secondary"}
    for task in exported:
        assert set(task["data"]) == {"text", "doc", "idx"}
    for result in results:
        control = controls[(result["from_name"], result["to_name"])]
        assert result["type"] == control.tag.lower()
        assert set(result["value"]["choices"]) <= {c.get("value") for c in control.iter("Choice")}
