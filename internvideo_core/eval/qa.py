"""Open-ended video question answering: answer vocabulary and accuracy.

Open-ended VideoQA (MSRVTT-QA, MSVD-QA, TGIF-QA frame) is trained as classification over the ``top_k`` most
frequent training answers. Questions whose true answer is outside that vocabulary can never be answered correctly.

**How the official numbers count them:** InternVideo's official QA accuracies exclude the questions whose answer is
outside the answer vocabulary (they are dropped from the test set, not counted as wrong).
:func:`qa_accuracy` reports both: ``"in_vocab"`` (comparable to the papers) and ``"all"`` (out-of-vocabulary
questions counted as wrong, the stricter number), plus ``"num_oov"``.

Answers are compared after :func:`normalize_answer` (strip + lower-case). Accuracies are percentages.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Hashable, Iterable, Sequence

__all__ = ["normalize_answer", "build_answer_vocab", "qa_accuracy", "qa_accuracy_by_type", "question_type"]


def normalize_answer(answer: str) -> str:
    """Strip surrounding white space and lower-case (MSRVTT-QA / MSVD-QA answers are single lower-case words)."""
    return str(answer).strip().lower()


def build_answer_vocab(train_answers: Iterable[str], top_k: int | None = None) -> list[str]:
    """The ``top_k`` most frequent (normalised) training answers, most frequent first.

    Ties in frequency keep the order of first appearance (``collections.Counter.most_common``). The answer at
    position ``i`` is class ``i`` of the QA head. ``top_k=None`` keeps every answer.
    """
    counts = Counter(normalize_answer(a) for a in train_answers)
    return [a for a, _ in counts.most_common(top_k)]


def qa_accuracy(pred_answers: Sequence[str], true_answers: Sequence[str],
                vocab: Iterable[str]) -> dict[str, float | int]:
    """Open-ended QA accuracy.

    Args:
        pred_answers: ``[N]`` predicted answer strings (e.g. ``vocab[argmax(logits)]``).
        true_answers: ``[N]`` ground-truth answer strings.
        vocab: the answer vocabulary (from :func:`build_answer_vocab`).

    Returns:
        ``{"all": acc over all N questions (OOV counted wrong), "in_vocab": acc over questions whose answer is in the
        vocabulary (the official protocol), "num_oov": number of excluded questions, "num_questions": N}``;
        accuracies in percent (NaN when there is nothing to average).
    """
    if len(pred_answers) != len(true_answers):
        raise ValueError(f"{len(pred_answers)} predictions but {len(true_answers)} ground-truth answers")
    voc = {normalize_answer(a) for a in vocab}
    n = len(true_answers)
    correct = in_vocab = correct_in_vocab = 0
    for p, t in zip(pred_answers, true_answers):
        p, t = normalize_answer(p), normalize_answer(t)
        hit = p == t
        correct += hit
        if t in voc:
            in_vocab += 1
            correct_in_vocab += hit
    # an OOV ground truth can only be "hit" by a prediction outside the vocabulary; the official protocol drops it
    return {
        "all": 100.0 * correct / n if n else float("nan"),
        "in_vocab": 100.0 * correct_in_vocab / in_vocab if in_vocab else float("nan"),
        "num_oov": n - in_vocab,
        "num_questions": n,
    }


def question_type(question: str) -> str:
    """MSRVTT-QA / MSVD-QA question type: the first word, lower-cased (what, who, how, when, where...)."""
    words = str(question).strip().lower().split()
    return words[0] if words else ""


def qa_accuracy_by_type(pred_answers: Sequence[str], true_answers: Sequence[str], types: Sequence[Hashable],
                        vocab: Iterable[str] | None = None) -> dict[Hashable, float]:
    """Accuracy (percent) per question type.

    Args:
        pred_answers, true_answers: ``[N]`` strings. types: ``[N]`` type of every question (e.g.
            ``[question_type(q) for q in questions]``). vocab: if given, out-of-vocabulary questions are dropped
            first (official protocol).
    """
    if not (len(pred_answers) == len(true_answers) == len(types)):
        raise ValueError("pred_answers, true_answers and types must have the same length")
    voc = None if vocab is None else {normalize_answer(a) for a in vocab}
    hits: dict[Hashable, int] = defaultdict(int)
    totals: dict[Hashable, int] = defaultdict(int)
    for p, t, ty in zip(pred_answers, true_answers, types):
        t = normalize_answer(t)
        if voc is not None and t not in voc:
            continue
        totals[ty] += 1
        hits[ty] += normalize_answer(p) == t
    return {ty: 100.0 * hits[ty] / totals[ty] for ty in totals}
