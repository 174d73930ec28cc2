"""The bounded YAML loader: alias bombs, deep nesting, cycles and huge documents are refused quickly."""

from __future__ import annotations

import time

import pytest
import yaml

from harness import yamlsafe
from harness.probes import inventory
from harness.probes.pipelines import yamlio
from tests.conftest import run_check
from tests.hostile.isolation_cases import BOMBS, _bomb


def test_ordinary_yaml_with_anchors_and_merge_keys_loads():
    doc = yamlsafe.load("base: &b {image: app, ports: [80]}\nweb:\n  <<: *b\n  name: web\nalso: *b\n")
    assert doc["web"] == {"image": "app", "ports": [80], "name": "web"} and doc["also"]["ports"] == [80]
    assert yamlsafe.load_all("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    "text, words",
    [
        (_bomb("x"), "aliases expand to more than"),
        ("[" * 500 + "]" * 500, "nested deeper than"),
        ("&a [*a]", "cycle"),
        ("x: " + "y" * (yamlsafe.MAX_BYTES + 1), "byte limit"),
    ],
    ids=["alias-bomb", "deep", "cycle", "huge"],
)
def test_hostile_documents_are_refused_quickly_with_a_yaml_error(text, words):
    t0 = time.monotonic()
    with pytest.raises(yaml.YAMLError, match=words):
        yamlsafe.load(text)
    assert time.monotonic() - t0 < 2


def test_expanded_nesting_through_aliases_is_bounded():
    # Each anchor nests the previous one a level deeper: shallow as written, deep once expanded.
    text = "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 150))
    with pytest.raises(yamlsafe.YamlLimitError, match="once aliases are expanded"):
        yamlsafe.load(text)


def test_a_line_tracking_loader_keeps_its_constructors_and_gets_the_limits():
    # The pipelines' loader composes with libyaml (CSafeLoader) where installed: the limits must hold there too.
    loader = yamlio._LineLoader
    doc = yamlsafe.load("jobs:\n  test:\n    steps: [a]\n", loader)
    assert isinstance(doc, yamlio.LDict) and doc.key_lines["jobs"] == 1
    with pytest.raises(yamlsafe.YamlLimitError):
        yamlsafe.load(BOMBS["workflow"][1], loader)
    with pytest.raises(yamlsafe.YamlLimitError):
        yamlio.load_yaml(BOMBS["workflow"][1])
    assert yamlsafe.bounded_loader(loader) is yamlsafe.bounded_loader(loader)


def test_inventory_parse_names_the_refusal():
    with pytest.raises(yamlsafe.YamlLimitError):
        inventory.load_yaml_all(BOMBS["kubernetes"][1])


def test_a_bombed_stack_file_is_could_not_check_naming_it(make_repo):
    repo = make_repo()
    repo.write("Pulumi.yaml", "name: app\nruntime: python\n")
    repo.write("Pulumi.dev.yaml", "config:\n  app:size: small\n" + _bomb("x-bomb")).commit("stack")
    t0 = time.monotonic()
    found = run_check("repo.iac-state", repo.path)
    assert time.monotonic() - t0 < 10
    named = [f for f in found if "Pulumi.dev.yaml" in f.reason]
    assert named and all(f.outcome.value in ("could_not_check", "fail") for f in named), [
        (f.outcome, f.reason) for f in found
    ]
