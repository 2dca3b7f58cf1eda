"""Zero-shot classification with prompt ensembles and multiple choice, on constructed embeddings."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from internvideo_core.eval.zeroshot import (
    KINETICS_TEMPLATES, class_text_embeddings, clean_classname, multiple_choice, multiple_choice_accuracy,
    zero_shot_classify,
)


def test_kinetics_templates():
    assert len(KINETICS_TEMPLATES) == 28 and len(set(KINETICS_TEMPLATES)) == 28
    assert all(t.count("{}") == 1 for t in KINETICS_TEMPLATES)
    assert KINETICS_TEMPLATES[0] == "a photo of {}."
    assert KINETICS_TEMPLATES[8] == "a video of a person {}."
    assert KINETICS_TEMPLATES[-1] == "a demonstration of a person practicing {}."
    assert clean_classname(' "playing_guitar" ') == "playing guitar"


class FakeTextEncoder:
    """tokenize: strings -> LongTensor of ids; encode_text: ids -> fixed random embeddings (records batches)."""

    def __init__(self, dim: int = 8):
        self.vocab: dict[str, int] = {}
        self.table = torch.randn(200, dim, generator=torch.Generator().manual_seed(0))
        self.batches: list[int] = []

    def tokenize(self, texts):
        return torch.tensor([self.vocab.setdefault(t, len(self.vocab)) for t in texts])

    def encode_text(self, ids):
        self.batches.append(len(ids))
        return self.table[ids] * 3.0


def test_class_text_embeddings_layout_and_batching():
    enc = FakeTextEncoder()
    classes = ["run", "jump", "swim"]
    templates = ["a video of {}.", "{} now", "a photo of {}."]
    emb = class_text_embeddings(classes, templates, enc.encode_text, enc.tokenize, batch_size=4)
    assert emb.shape == (3, 3, 8)
    assert enc.batches == [4, 4, 1]
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3, 3))
    ref = F.normalize(enc.table[enc.vocab["{} now".format("swim")]], dim=0)
    torch.testing.assert_close(emb[1, 2], ref)
    raw = class_text_embeddings(classes, templates, enc.encode_text, enc.tokenize, normalize=False)
    torch.testing.assert_close(raw[0, 0], enc.table[enc.vocab["a video of run."]] * 3.0)
    with pytest.raises(ValueError, match="placeholder"):
        class_text_embeddings(classes, ["no slot"], enc.encode_text, enc.tokenize)


def _axes(n, dim):
    return torch.eye(dim)[:n]


def test_zero_shot_recovers_known_classes():
    # classes are orthogonal axes; every template adds a small template-specific offset
    C, T, E = 5, 4, 8
    base = _axes(C, E)
    g = torch.Generator().manual_seed(1)
    text = torch.stack([F.normalize(base + 0.1 * torch.randn(1, E, generator=g), dim=-1) for _ in range(T)])
    labels = torch.tensor([3, 0, 4, 1, 2, 2])
    video = base[labels] + 0.05 * torch.randn(len(labels), E, generator=g)
    for ens in ("softmax_mean", "embedding_mean"):
        probs = zero_shot_classify(video, text, ensemble=ens)
        assert probs.shape == (6, C)
        torch.testing.assert_close(probs.sum(-1), torch.ones(6))
        assert torch.equal(probs.argmax(-1), labels)


def test_ensembles_match_their_definitions_and_differ():
    g = torch.Generator().manual_seed(2)
    video = torch.randn(3, 6, generator=g)
    text = torch.randn(5, 4, 6, generator=g)
    v = F.normalize(video, dim=-1)
    t = F.normalize(text, dim=-1)
    scale = 50.0
    sm = zero_shot_classify(video, text, "softmax_mean", logit_scale=scale)
    ref_sm = torch.stack([(scale * v @ t[i].T).softmax(-1) for i in range(5)]).mean(0)
    torch.testing.assert_close(sm, ref_sm)
    em = zero_shot_classify(video, text, "embedding_mean", logit_scale=torch.tensor(scale))
    ref_em = (scale * v @ F.normalize(t.mean(0), dim=-1).T).softmax(-1)
    torch.testing.assert_close(em, ref_em)
    assert not torch.allclose(sm, em)
    with pytest.raises(ValueError, match="ensemble"):
        zero_shot_classify(video, text, "max")


def test_single_template_ensembles_agree():
    g = torch.Generator().manual_seed(3)
    video, text = torch.randn(4, 6, generator=g), torch.randn(3, 6, generator=g)
    a = zero_shot_classify(video, text, "softmax_mean")
    b = zero_shot_classify(video, text[None], "embedding_mean")
    torch.testing.assert_close(a, b)


def test_softmax_mean_caps_one_misleading_template():
    # templates 1, 2 say class 0 (moderate margin); template 0 says class 1 with a large margin. Per-template
    # softmax gives every template one vote (2 : 1 for class 0); averaging embeddings lets template 0 dominate.
    e = torch.eye(4)
    text = torch.stack([torch.stack([-e[2], e[2]]), torch.stack([e[0], e[1]]), torch.stack([e[0], e[1]])])
    video = F.normalize(torch.tensor([[1.0, 0.0, 1.5, 0.0]]), dim=-1)
    sm = zero_shot_classify(video, text, "softmax_mean")
    assert sm.argmax().item() == 0 and sm[0, 0].item() == pytest.approx(2 / 3, abs=1e-3)
    assert zero_shot_classify(video, text, "embedding_mean").argmax().item() == 1


def test_multiple_choice():
    g = torch.Generator().manual_seed(4)
    N, K, E = 8, 5, 16
    video = torch.randn(N, E, generator=g)
    cands = torch.randn(N, K, E, generator=g)
    answer = torch.randint(0, K, (N,), generator=g)
    cands[torch.arange(N), answer] = video * 2 + 0.01 * torch.randn(N, E, generator=g)
    assert torch.equal(multiple_choice(video, cands), answer)
    assert multiple_choice_accuracy(video, cands, answer) == 100.0
    wrong = answer.clone()
    wrong[:2] = (wrong[:2] + 1) % K
    assert multiple_choice_accuracy(video, cands, wrong) == 75.0
    assert multiple_choice_accuracy(video.numpy(), cands.numpy(), np.asarray(answer)) == 100.0
    with pytest.raises(ValueError, match=r"\[N, K, E\]"):
        multiple_choice(video, cands[0])


def test_eval_package_reexports():
    import internvideo_core.eval as ev
    from internvideo_core.eval import retrieval, zeroshot

    assert ev.zero_shot_classify is zeroshot.zero_shot_classify
    assert ev.retrieval_metrics is retrieval.retrieval_metrics
    assert "tal_map" in dir(ev) and ev.qa.qa_accuracy is not None
    with pytest.raises(AttributeError):
        ev.not_a_metric  # noqa: B018


def test_clean_classname_strips_only_quotes_and_white_space():
    assert clean_classname('"X-ray_of_a_boX"') == "X-ray of a boX"
    assert clean_classname("  tying_tie ") == "tying tie"


def test_the_defaults_are_the_official_softmax_mean_at_logit_scale_100():
    g = torch.Generator().manual_seed(5)
    video, text = torch.randn(3, 6, generator=g), torch.randn(4, 5, 6, generator=g)
    v, t = F.normalize(video, dim=-1), F.normalize(text, dim=-1)
    ref = torch.stack([(100.0 * v @ t[i].T).softmax(-1) for i in range(4)]).mean(0)
    torch.testing.assert_close(zero_shot_classify(video * 3.0, text * 2.0), ref, rtol=1e-5, atol=1e-7)


def test_probabilities_are_float32_whatever_the_logit_scale_dtype():
    g = torch.Generator().manual_seed(6)
    video, text = torch.randn(2, 4, generator=g), torch.randn(3, 2, 4, generator=g)
    for ens in ("softmax_mean", "embedding_mean"):
        assert zero_shot_classify(video, text, ens, logit_scale=torch.tensor(50.0, dtype=torch.float64)).dtype \
            == torch.float32


@pytest.mark.parametrize("video, text", [
    (torch.randn(6), torch.randn(2, 3, 6)),          # one video's embedding [E], not [1, E]
    (torch.randn(2, 6), torch.randn(2, 3, 5)),       # embedding widths differ
    (torch.randn(2, 6), torch.randn(1, 2, 3, 6)),    # text with an extra axis
])
def test_zero_shot_refuses_misshaped_embeddings_with_both_shapes(video, text):
    with pytest.raises(ValueError, match=r"^expected video_emb \[N, E\] and text embeddings \[T, C, E\]; got "
                                         + re.escape(f"{tuple(video.shape)} and ")):
        zero_shot_classify(video, text)


def test_multiple_choice_compares_angles_not_lengths():
    # video 0 is long: normalising the videos over the batch (not each row) would shrink video 1's first axis;
    # candidate 0 of video 0 is long but at 45 degrees: comparing unnormalised candidates would pick it
    video = torch.tensor([[100.0, 0.0], [1.0, 1.0]])
    cands = torch.tensor([[[10.0, 10.0], [1.0, 0.1]], [[1.0, 0.2], [0.0, 1.0]]])
    assert multiple_choice(video, cands).tolist() == [1, 0]
    assert multiple_choice_accuracy(video, cands, [1, 0]) == 100.0


@pytest.mark.parametrize("video, cands", [
    (torch.randn(3), torch.randn(3, 4, 3)),          # one video's embedding [E] (N == E)
    (torch.randn(3, 1, 5), torch.randn(3, 4, 5)),    # videos with an extra axis
    (torch.randn(3, 5), torch.randn(3, 5)),          # one candidate per video, no K axis
    (torch.randn(3, 5), torch.randn(2, 4, 5)),       # candidates for another number of videos
    (torch.randn(3, 5), torch.randn(3, 4, 6)),       # embedding widths differ
])
def test_multiple_choice_refuses_misshaped_embeddings_with_both_shapes(video, cands):
    with pytest.raises(ValueError, match=r"^expected video_emb \[N, E\] and candidate_text_emb \[N, K, E\]; got "
                                         + re.escape(f"{tuple(video.shape)} and {tuple(cands.shape)}")):
        multiple_choice(video, cands)
    with pytest.raises(ValueError, match=r"^answer_idx has shape \(2,\), expected \(3,\)"):
        multiple_choice_accuracy(torch.randn(3, 5), torch.randn(3, 4, 5), [0, 1])
