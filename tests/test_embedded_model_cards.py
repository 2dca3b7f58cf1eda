"""tools/embedded_model_cards.py: what an embedded model's card says, how the demo's answers reach it, and how
``tools/build_embedded_models.py --check`` / ``--compare`` judge a rebuild against the committed cards."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import build_embedded_models as build  # noqa: E402
import embedded_model_cards as cards  # noqa: E402

from internvideo_core.data.synthmotion import KNOWN_MOTIONS  # noqa: E402
from internvideo_core.embedded import EMBEDDED  # noqa: E402

COMMITTED = REPO / "internvideo_core" / "assets" / "models"


def _copy_configs(dest: Path) -> Path:
    """The committed cards (``config.json`` of each model; the weights are not needed to compare them)."""
    for name in EMBEDDED:
        (dest / name).mkdir(parents=True)
        shutil.copy(COMMITTED / name / "config.json", dest / name / "config.json")
    return dest


def _edit_metrics(root: Path, name: str, edit) -> None:
    path = root / name / "config.json"
    cfg = json.loads(path.read_text())
    edit(cfg["card"]["metrics"])
    path.write_text(json.dumps(cfg, indent=1))


def test_the_stages_name_every_embedded_model_once():
    assert sorted(cards.model_names(list(build.STAGES))) == sorted(EMBEDDED)


def test_a_rebuild_with_the_committed_cards_reproduces_them(tmp_path):
    built = _copy_configs(tmp_path / "built")
    rows, same = cards.compare_cards(built, COMMITTED, list(EMBEDDED))
    metrics = sum(len(json.loads((COMMITTED / n / "config.json").read_text())["card"]["metrics"]) for n in EMBEDDED)
    assert same and len(rows) == metrics and all(a == b for _, _, a, b in rows)
    assert build.main(["--compare", str(built), "--against", str(COMMITTED)]) == 0


def test_one_changed_or_missing_metric_fails_the_check(tmp_path, capsys):
    built = _copy_configs(tmp_path / "built")
    _edit_metrics(built, "videomae_vit_tiny_synth", lambda m: m.update(top1=m["top1"] - 0.01))
    rows, same = cards.compare_cards(built, COMMITTED, ["videomae_vit_tiny_synth"])
    changed = [r for r in rows if r[2] != r[3]]
    assert not same and [r[1] for r in changed] == ["top1"] and changed[0][3] == pytest.approx(changed[0][2] - 0.01)
    assert build.main(["--compare", str(built), "--against", str(COMMITTED), "--only", "classifier"]) == 1
    out = capsys.readouterr().out
    assert "| videomae_vit_tiny_synth | top1 |" in out and "**NO**" in out and "DIFFERS" in out

    built = _copy_configs(tmp_path / "built2")
    _edit_metrics(built, "internvideo_mm_tiny_synth", lambda m: m.pop("chance"))
    _edit_metrics(built, "internvideo_mm_tiny_synth", lambda m: m.update(extra=1))
    rows, same = cards.compare_cards(built, COMMITTED, ["internvideo_mm_tiny_synth"])
    differing = {key: (a, b) for _, key, a, b in rows if a != b}
    assert not same and differing == {"chance": (8.33, "(missing)"), "extra": ("(missing)", 1)}
    # a model the rebuild did not make at all differs in every metric
    shutil.rmtree(built / "videomae_pretrain_tiny_synth")
    rows, same = cards.compare_cards(built, COMMITTED, ["videomae_pretrain_tiny_synth"])
    assert not same and rows and all(b == "(missing)" for _, _, _, b in rows)


def test_the_model_card_says_what_the_config_card_holds(tmp_path):
    folder = tmp_path / "videomae_vit_tiny_synth"
    folder.mkdir()
    shutil.copy(COMMITTED / folder.name / "config.json", folder / "config.json")
    weights = folder / "model.safetensors"
    weights.write_bytes(b"\0" * 2**19)  # the card states the file's size
    cards.write_model_card(folder.name, weights)
    text = (folder / "MODEL_CARD.md").read_text()
    card = json.loads((folder / "config.json").read_text())["card"]
    assert text.startswith("# videomae_vit_tiny_synth (embedded SynthMotion model)")
    assert f"**{EMBEDDED[folder.name]}**" in text and "0.50 MiB" in text and f"`{card['command']}`" in text
    for key, value in card["metrics"].items():
        assert f"| {key} | {value} |" in text
    assert text == (COMMITTED / folder.name / "MODEL_CARD.md").read_text().replace(
        f"{(COMMITTED / folder.name / 'model.safetensors').stat().st_size / 2**20:.2f} MiB", "0.50 MiB")


def test_each_motion_phrase_ends_exactly_its_own_zero_shot_label_on_the_demo():
    from internvideo_core.demo.models import video_text_defaults

    labels, _, _ = video_text_defaults("tutorial")
    assert set(cards.MOTION_PHRASE) == set(KNOWN_MOTIONS)
    for motion, phrase in cards.MOTION_PHRASE.items():
        assert [lbl for lbl in labels if lbl.endswith(phrase)] == [labels[KNOWN_MOTIONS.index(motion)]]


def test_the_demo_answers_are_counted_onto_the_cards(tmp_path):
    out = _copy_configs(tmp_path / "models")
    for name in EMBEDDED:
        (out / name / "model.safetensors").write_bytes(b"\0")
    examples = [
        {"example": "a", "motion": "move left", "recognised": "move left", "zero_shot": "a red shape moves to the left",
         "retrieval_rank": 1},
        {"example": "b", "motion": "rotate clockwise", "recognised": "rotate counterclockwise",
         "zero_shot": "a red shape rotates counterclockwise", "retrieval_rank": 2},
        {"example": "c", "motion": "stay", "recognised": "stay", "zero_shot": "a blue shape stays still",
         "retrieval_rank": 1},
    ]
    striped = [{"example": "s1", "object_ratio": 0.7, "object_tubelets": 9},
               {"example": "s2", "object_ratio": 0.81, "object_tubelets": 7}]
    cards.add_demo_check(out, {"examples": examples, "striped": striped})

    def metrics(name: str) -> dict:
        return json.loads((out / name / "config.json").read_text())["card"]["metrics"]

    assert metrics("videomae_vit_tiny_synth")["demo_examples_recognised"] == "2 / 3"
    mm = metrics("internvideo_mm_tiny_synth")
    assert mm["demo_examples_zero_shot_right"] == "2 / 3" and mm["demo_examples_retrieval_rank1"] == "2 / 3"
    ae = metrics("videomae_pretrain_tiny_synth")
    assert ae["demo_striped_examples_object_ratio (90 %, mask seed 0)"] == "0.700 / 0.810"
    assert ae["demo_striped_examples_worst_object_ratio"] == 0.81
    assert "| demo_examples_recognised | 2 / 3 |" in (out / "videomae_vit_tiny_synth" / "MODEL_CARD.md").read_text()
