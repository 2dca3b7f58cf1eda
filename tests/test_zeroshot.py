"""Zero-shot classification with prompt ensembles and multiple choice, on constructed embeddings."""
from __future__ import annotations

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
