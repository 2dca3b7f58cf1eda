"""Task heads that sit on top of the video encoders.

- :class:`VideoQAHead`: open-ended video question answering as classification over the training answer
  vocabulary (the MSRVTT-QA / MSVD-QA / TGIF-QA protocol). It fuses a video feature with a question feature:
  both are projected to ``hidden`` and an MLP reads ``[v, q, v * q]``; with ``fusion="attention"`` the video
  may be a set of tokens ``[B, N, Dv]`` that the question attends to first (one-query cross-attention).
  Any encoder works: e.g. the pooled video feature of InternVideo-MM and the text tower's feature of the
  question.
- :class:`EvidentialHead` and :func:`evidential_loss`: evidential deep learning (EDL, Sensoy et al. 2018) as
  used by InternVideo's open-set recognition (DEAR, Bao et al. 2021): the head outputs non-negative evidence
  ``e`` for each of ``K`` classes, ``alpha = e + 1`` parametrises a Dirichlet, ``u = K / sum(alpha)`` is the
  uncertainty used to reject unknown classes (see :func:`internvideo_core.eval.openset.edl_outputs`).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VideoQAHead", "EvidentialHead", "EvidentialClassifier", "evidence", "evidential_loss",
           "edl_annealing_coef"]


class VideoQAHead(nn.Module):
    """Answer classifier from fused video and question features.

    Args:
        video_dim: width ``Dv`` of the video feature(s). text_dim: width ``Dq`` of the question feature.
        num_answers: size ``A`` of the answer vocabulary (class ``i`` = ``vocab[i]``).
        hidden: width of the fused representation. fusion: ``"mlp"`` (pooled video ``[B, Dv]``) or
            ``"attention"`` (video tokens ``[B, N, Dv]`` attended by the question; a pooled ``[B, Dv]`` is
            treated as one token). num_heads: heads of the cross-attention. dropout: before the classifier.

    ``forward(video, question) -> logits [B, A]`` with ``video [B, Dv]`` or ``[B, N, Dv]`` and
    ``question [B, Dq]``; ``video_mask [B, N]`` (True = keep) is optional for padded token sets.
    """

    def __init__(self, video_dim: int, text_dim: int, num_answers: int, hidden: int = 256, fusion: str = "mlp",
                 num_heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        if fusion not in ("mlp", "attention"):
            raise ValueError(f"fusion must be 'mlp' or 'attention', got {fusion!r}")
        if num_answers < 1:
            raise ValueError(f"num_answers must be >= 1, got {num_answers}")
        if fusion == "attention" and hidden % num_heads:
            raise ValueError(f"hidden={hidden} is not divisible by num_heads={num_heads}")
        self.fusion, self.num_heads, self.num_answers = fusion, num_heads, num_answers
        self.video_proj = nn.Sequential(nn.LayerNorm(video_dim), nn.Linear(video_dim, hidden))
        self.question_proj = nn.Sequential(nn.LayerNorm(text_dim), nn.Linear(text_dim, hidden))
        if fusion == "attention":
            self.attn_q = nn.Linear(hidden, hidden)
            self.attn_kv = nn.Linear(hidden, 2 * hidden)
            self.attn_out = nn.Linear(hidden, hidden)
        self.classifier = nn.Sequential(
            nn.Linear(3 * hidden, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Dropout(dropout),
            nn.Linear(hidden, num_answers),
        )

    def _attend(self, q: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``q [B, H]`` attends to ``v [B, N, H]`` -> ``[B, H]``."""
        b, n, h = v.shape
        d = h // self.num_heads
        query = self.attn_q(q).view(b, 1, self.num_heads, d).transpose(1, 2)          # [B, heads, 1, d]
        k, val = self.attn_kv(v).view(b, n, 2, self.num_heads, d).permute(2, 0, 3, 1, 4)  # 2 x [B, heads, N, d]
        attn_mask = None if mask is None else mask.to(torch.bool).view(b, 1, 1, n)
        out = F.scaled_dot_product_attention(query, k, val, attn_mask=attn_mask)      # [B, heads, 1, d]
        return self.attn_out(out.transpose(1, 2).reshape(b, h))

    def forward(self, video: torch.Tensor, question: torch.Tensor,
                video_mask: torch.Tensor | None = None) -> torch.Tensor:
        if question.dim() != 2:
            raise ValueError(f"expected question features [B, Dq], got shape {tuple(question.shape)}")
        if video.dim() not in (2, 3) or video.shape[0] != question.shape[0]:
            raise ValueError(f"expected video features [B, Dv] or [B, N, Dv] with B={question.shape[0]}, got "
                             f"{tuple(video.shape)}")
        q = self.question_proj(question)
        if self.fusion == "mlp":
            if video.dim() == 3:
                if video_mask is None:
                    video = video.mean(dim=1)
                else:
                    w = video_mask.to(video.dtype).unsqueeze(-1)
                    video = (video * w).sum(1) / w.sum(1).clamp(min=1)
            v = self.video_proj(video)
        else:
            tokens = self.video_proj(video if video.dim() == 3 else video.unsqueeze(1))
            v = self._attend(q, tokens, video_mask)
        return self.classifier(torch.cat([v, q, v * q], dim=-1))


def evidence(logits: torch.Tensor, kind: str = "exp") -> torch.Tensor:
    """Non-negative evidence ``[..., K]``: ``exp(clamp(x, -10, 10))`` (DEAR default), ``relu`` or ``softplus``."""
    if kind == "exp":
        return torch.exp(torch.clamp(logits, -10, 10))
    if kind == "relu":
        return F.relu(logits)
    if kind == "softplus":
        return F.softplus(logits)
    raise ValueError(f"evidence kind must be 'exp', 'relu' or 'softplus', got {kind!r}")


class EvidentialHead(nn.Module):
    """Linear evidential classifier: ``forward(x [B, D]) -> logits [B, K]`` (evidence = ``evidence(logits)``).

    :meth:`dirichlet` returns ``alpha [B, K]`` and the uncertainty ``u = K / sum(alpha)`` ``[B]``.
    """

    def __init__(self, in_dim: int, num_classes: int, evidence_kind: str = "exp", dropout: float = 0.0) -> None:
        super().__init__()
        evidence(torch.zeros(1), evidence_kind)  # validates the kind early
        self.evidence_kind = evidence_kind
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x))

    def dirichlet(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = evidence(self(x), self.evidence_kind) + 1.0
        return alpha, alpha.shape[-1] / alpha.sum(dim=-1)


class EvidentialClassifier(nn.Module):
    """Any kit video encoder + :class:`EvidentialHead`: ``forward(x [B, 3, T, H, W]) -> logits [B, K]``.

    The encoder's pooled feature is ``encoder.forward_features(x)`` (VideoMAE / video ViT classifiers: mean of
    the tokens then ``fc_norm``) or ``encoder.encode_video(x)`` (the InternVideo-MM dual encoder). The head is
    ``head.fc`` after dropout (DEAR's ``BaseClsHead``: dropout 0.5, then a linear layer); evidence, ``alpha`` and
    ``u`` follow from the logits (:func:`internvideo_core.eval.openset.edl_outputs`). ``get_num_layers`` /
    ``get_layer_id`` forward to the encoder, so layer-wise lr decay sees the official layer ids (the
    ``encoder.`` prefix is ignored by them; ``head.*`` is the top layer).

    A VideoMAE classifier whose own ``head`` is trained with :func:`evidential_loss` is the same model (the
    official open-set ViT is ``VisionTransformer3D`` + ``BaseClsHead``); this wrapper is for encoders without a
    classification head.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, feature_dim: int | None = None,
                 evidence_kind: str = "exp", dropout: float = 0.5) -> None:
        super().__init__()
        self.encoder = encoder
        if feature_dim is None:
            cfg = getattr(encoder, "config", None)
            feature_dim = getattr(cfg, "embed_dim", None)
            if feature_dim is None:
                raise ValueError(f"cannot tell the feature width of {type(encoder).__name__}; pass feature_dim")
        self.num_classes = num_classes
        self.head = EvidentialHead(int(feature_dim), num_classes, evidence_kind, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled encoder features ``[B, D]``."""
        if hasattr(self.encoder, "forward_features"):
            return self.encoder.forward_features(x)
        return self.encoder.encode_video(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))

    def get_num_layers(self) -> int:
        return int(self.encoder.get_num_layers())

    def get_layer_id(self, name: str) -> int:
        if name.startswith("head."):
            return self.get_num_layers() + 1
        return int(self.encoder.get_layer_id(name.removeprefix("encoder.")))

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        inner = getattr(self.encoder, "no_weight_decay", None)
        return {f"encoder.{n}" for n in (inner() if callable(inner) else ())}


def edl_annealing_coef(epoch: int, total_epochs: int, method: str = "exp", start: float = 0.01,
                       step: int = 10) -> float:
    """DEAR's annealing coefficient of the KL term (``EvidenceLoss.compute_annealing_coef``), ``epoch`` 0-based.

    ``"exp"``: ``start * exp(-log(start) / total_epochs * epoch)`` = ``start ** (1 - epoch / total_epochs)``, from
    ``start`` (0.01) at the first epoch towards 1 (reached only after the last epoch: the official quirk);
    ``"step"``: ``min(1, epoch / step)`` (0 at the first epoch, 1 from epoch ``step`` on).
    """
    if method == "exp":
        return float(start * math.exp(-math.log(start) / total_epochs * epoch))
    if method == "step":
        return float(min(1.0, epoch / step))
    raise ValueError(f"annealing method must be 'exp' or 'step', got {method!r}")


def _kl_to_uniform_dirichlet(alpha: torch.Tensor) -> torch.Tensor:
    """``KL(Dir(alpha) || Dir(1, ..., 1))`` per row, ``alpha [B, K]`` -> ``[B]``."""
    k = alpha.shape[-1]
    s = alpha.sum(dim=-1)
    return (torch.lgamma(s) - math.lgamma(k) - torch.lgamma(alpha).sum(-1)
            + ((alpha - 1) * (torch.digamma(alpha) - torch.digamma(s).unsqueeze(-1))).sum(-1))


def evidential_loss(logits: torch.Tensor, target: torch.Tensor, kl_weight: float = 0.0, kind: str = "exp",
                    loss: str = "log") -> torch.Tensor:
    """EDL loss (mean over the batch) of logits ``[B, K]`` against class indices ``target [B]``.

    ``loss="log"`` (DEAR's default): ``sum_k y_k (log S - log alpha_k)``; ``"digamma"``: the same with digamma;
    ``"mse"``: the expected squared error of Sensoy et al. ``kl_weight`` (annealed from 0 to 1 over training in
    the papers) weighs ``KL(Dir(alpha~) || Dir(1))`` where ``alpha~`` removes the true class's evidence.
    """
    alpha = evidence(logits.float(), kind) + 1.0
    y = F.one_hot(target.long(), alpha.shape[-1]).to(alpha.dtype)
    s = alpha.sum(dim=-1, keepdim=True)
    if loss == "log":
        data = (y * (torch.log(s) - torch.log(alpha))).sum(-1)
    elif loss == "digamma":
        data = (y * (torch.digamma(s) - torch.digamma(alpha))).sum(-1)
    elif loss == "mse":
        p = alpha / s
        data = ((y - p) ** 2 + p * (1 - p) / (s + 1)).sum(-1)
    else:
        raise ValueError(f"loss must be 'log', 'digamma' or 'mse', got {loss!r}")
    if kl_weight:
        data = data + kl_weight * _kl_to_uniform_dirichlet(y + (1 - y) * alpha)
    return data.mean()
