"""``internvideo_core.eval`` re-exports its metrics lazily: every listed name is the function of its submodule,
every submodule is reachable, ``dir()`` lists both, and an unknown name raises the usual AttributeError."""
from __future__ import annotations

import importlib

import pytest

import internvideo_core.eval as ev

SUBMODULES = ("classification", "retrieval", "localization", "detection", "openset", "qa", "zeroshot",
              "embedding_cache", "qa_heads", "long_video", "grounding", "navigation")


def test_every_exported_name_is_the_object_of_its_submodule():
    owners = {name: importlib.import_module(f"internvideo_core.eval.{ev._EXPORTS[name]}") for name in ev.__all__}
    assert ev.__all__ == sorted(ev._EXPORTS)
    for name, module in owners.items():
        assert getattr(ev, name) is getattr(module, name), name
    assert ev.tal_map is importlib.import_module("internvideo_core.eval.localization").tal_map
    assert ev.navigation_metrics_batch is importlib.import_module("internvideo_core.eval.navigation") \
        .navigation_metrics_batch


@pytest.mark.parametrize("name", SUBMODULES)
def test_every_submodule_is_an_attribute_of_the_package(name, monkeypatch):
    module = importlib.import_module(f"internvideo_core.eval.{name}")
    monkeypatch.delattr(ev, name, raising=False)          # as before its first import: through __getattr__
    assert getattr(ev, name) is module
    assert name in dir(ev)


def test_dir_lists_the_exports_the_submodules_and_the_module_globals():
    listed = dir(ev)
    assert listed == sorted(listed)
    assert set(ev.__all__) <= set(listed) and set(SUBMODULES) <= set(listed) and "annotations" in listed


def test_an_unknown_name_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match=r"^module 'internvideo_core.eval' has no attribute 'not_a_metric'$"):
        ev.not_a_metric  # noqa: B018
