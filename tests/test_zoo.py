"""The released-checkpoint zoo and the ``internvideo zoo`` command."""
from __future__ import annotations

import re

import pytest

from internvideo_core.cli import main
from internvideo_core.paths import labels_path
from internvideo_core.registry import build_config, get_pretrained, list_models, list_pretrained, mirrors_for
from internvideo_core.zoo import mm_pretrained, videomae_pretrained

ENTRIES = [*videomae_pretrained.ENTRIES, *mm_pretrained.ENTRIES]
URL = re.compile(r"https://[A-Za-z0-9.-]+/\S+")


def test_every_readme_checkpoint_is_registered():
    names = set(list_pretrained())
    expected = {
        # VideoMAE pretraining B/L/H and the fine-tuned classifiers of the InternVideo1 README
        "videomae_pretrain_base_hybrid", "videomae_pretrain_large_hybrid", "videomae_pretrain_huge_hybrid",
        "videomae_vit_base_k400", "videomae_vit_base_k710", "videomae_vit_base_ssv2",
        "videomae_vit_large_k400", "videomae_vit_large_k700", "videomae_vit_large_ssv2",
        "videomae_vit_huge_k400_f32_res384", "videomae_vit_huge_ssv1",
        "videomae_vit_huge_hmdb51_split1", "videomae_vit_huge_hmdb51_split2", "videomae_vit_huge_hmdb51_split3",
        # InternVideo-MM pretrained, retrieval and video QA
        "internvideo_mm_l14_pretrain", "internvideo_mm_b16_pretrain",
        *(f"internvideo_mm_l14_{d}_retrieval" for d in ("msrvtt", "msvd", "lsmdc", "didemo", "activitynet", "vatex")),
        *(f"internvideo_mm_l14_{d}_qa" for d in ("msrvtt", "msvd", "tgif")),
    }
    assert expected <= names
    assert {e.name for e in ENTRIES} == expected


def test_names_and_filenames_are_unique_and_do_not_shadow_architectures():
    names = [e.name for e in ENTRIES]
    files = [e.filename for e in ENTRIES]
    assert len(names) == len(set(names)) and len(files) == len(set(files))
    assert not set(names) & set(list_models())  # create_model(name) must never be ambiguous


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_is_complete_and_consistent(entry):
    assert entry.arch in list_models(), f"{entry.name}: architecture {entry.arch} is not registered"
    for field in ("name", "arch", "url", "filename", "license", "origin", "notes"):
        assert getattr(entry, field).strip(), f"{entry.name}: empty {field}"
    assert URL.fullmatch(entry.url), entry.url
    assert all(URL.fullmatch(u) for u in mirrors_for(entry.name))
    assert "/" not in entry.filename and not entry.filename.startswith(".")
    assert entry.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
    assert entry.img_size in (224, 384) and entry.num_frames in (8, 12, 16, 32, 64)
    # the overrides build a valid config that agrees with the declared input and classes
    config = build_config(entry.arch, **entry.overrides)
    if entry.arch.startswith("videomae_vit_"):
        assert (config.img_size, config.num_frames, config.num_classes) == (
            entry.img_size, entry.num_frames, entry.num_classes)
    elif entry.arch.startswith("videomae_pretrain_"):
        assert entry.num_classes is None and entry.label_map is None
    else:
        assert config.num_frames == entry.num_frames
    if entry.label_map is not None:
        path = labels_path(entry.label_map)
        assert path.exists(), path
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        assert len(lines) == entry.num_classes, (entry.label_map, len(lines))


def test_published_facts():
    """A few values checked by hand against the README and the official scripts."""
    h384 = get_pretrained("videomae_vit_huge_k400_f32_res384")
    assert h384.overrides == {"num_classes": 400, "img_size": 384, "num_frames": 32}
    assert h384.url.endswith("/action_recognition/K400/VideoMAE/ViT-H_f32_res384_89.54.pth")
    assert get_pretrained("videomae_vit_base_k710").num_classes == 710
    assert get_pretrained("videomae_vit_large_k700").label_map == "kinetics700"
    assert get_pretrained("videomae_vit_huge_hmdb51_split2").url.endswith("HMDB51/VideoMAE/split2_89.92/ViT-H.pth")
    assert get_pretrained("internvideo_mm_l14_activitynet_retrieval").overrides == {"num_frames": 64}
    assert get_pretrained("internvideo_mm_l14_tgif_qa").url.endswith("/vqa/tqifqa.ckpt")  # spelled so upstream
    assert get_pretrained("internvideo_mm_l14_msrvtt_retrieval").license.startswith("MIT")


def test_default_checkpoint_per_architecture():
    """create_model(arch, pretrained=True) takes the first entry registered for the architecture."""
    from internvideo_core import registry

    first: dict[str, str] = {}
    for name, entry in registry._PRETRAINED.items():
        first.setdefault(entry.arch, name)
    assert first["videomae_vit_base_patch16_224"] == "videomae_vit_base_k400"
    assert first["videomae_vit_large_patch16_224"] == "videomae_vit_large_k400"
    assert first["internvideo_mm_l14"] == "internvideo_mm_l14_pretrain"
    assert first["videomae_pretrain_base_patch16_224"] == "videomae_pretrain_base_hybrid"


# ----------------------------------------------------------------------------------------------------- CLI
def test_zoo_list_prints_every_entry_within_80_columns(capsys):
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0].splitlines()
    assert max(len(line) for line in table) <= 80, "the default table must fit an 80-column terminal"
    for e in ENTRIES:
        row = next(ln for ln in table if ln.startswith(e.name + " "))
        assert f"{e.num_frames}x{e.img_size}px" in row and e.url not in row
    assert f"{len(ENTRIES)} checkpoints" in out


def test_zoo_list_wide_adds_architecture_and_url(capsys):
    assert main(["zoo", "list", "--wide"]) == 0
    out = capsys.readouterr().out
    for e in ENTRIES:
        row = next(ln for ln in out.splitlines() if ln.startswith(e.name + " "))
        assert e.arch in row and e.url in row


def test_zoo_list_family_filter(capsys):
    assert main(["zoo", "list", "--family", "mm"]) == 0
    out = capsys.readouterr().out
    assert "internvideo_mm_l14_pretrain" in out and "videomae_vit_base_k400" not in out
    assert main(["zoo", "list", "--family", "videomae"]) == 0
    out = capsys.readouterr().out
    assert "videomae_vit_base_k400" in out and "internvideo_mm_l14_pretrain" not in out


def test_zoo_info_shows_url_licence_and_cache_path(capsys, tmp_path):
    assert main(["zoo", "info", "internvideo_mm_b16_pretrain", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    entry = get_pretrained("internvideo_mm_b16_pretrain")
    assert entry.url in out and entry.license in out and str(tmp_path / entry.filename) in out
    assert "huggingface.co/OpenGVLab/InternVideo1.0/resolve/main/InternVideo-MM-B-16.ckpt" in out  # mirror
    assert main(["zoo", "info", "no_such_checkpoint"]) == 2
    assert "zoo list" in capsys.readouterr().err


def test_zoo_download_offline_gives_the_actionable_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    assert main(["zoo", "download", "videomae_vit_base_k400", "--cache-dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    entry = get_pretrained("videomae_vit_base_k400")
    assert entry.url in err and str(tmp_path / entry.filename) in err and "INTERNVIDEO_OFFLINE" in err
    assert not any(tmp_path.iterdir())


def test_zoo_download_finds_a_file_placed_by_hand(capsys, monkeypatch, tmp_path):
    """The offline instructions work: a file saved at the printed path is picked up (digest recorded)."""
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    entry = get_pretrained("internvideo_mm_l14_msvd_qa")
    (tmp_path / entry.filename).write_bytes(b"weights fetched by hand")
    assert main(["zoo", "download", entry.name, "--cache-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / entry.filename)
    assert (tmp_path / (entry.filename + ".sha256")).exists()
