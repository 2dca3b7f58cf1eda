"""Which notebook needs which, and a scheduler that runs notebooks side by side (``notebooks run --jobs N``).

The dependency table is written out by hand from the notebooks and recipes (no discovery): a notebook depends on
an earlier one when it *reads a file that notebook writes*. Every consumer falls back to training the missing
model itself with the same recipe, so a dependency is about time and safety, not correctness: waiting for the
producer avoids training the same model twice, and two notebooks must never train the same model into the same
file at the same time. When a producer is not among the notebooks being run (``--only 08 10``), the consumers
that would each train its model are chained in number order, so only the first trains it and the next one
finds the file.

Ready notebooks start longest-first (by the previous run's times), the classic list-scheduling rule that keeps
the long notebooks off the end of the run, where "longest" counts the notebook together with the longest chain of
notebooks waiting for it (its *bottom level*: 02 counts 02 + 03 + 08), so that producers such as 02 and 04 start
before long notebooks that nobody waits for.
"""
from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

#: notebook number -> the earlier notebooks whose outputs it reads (direct consumption only).
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "00": (),
    "01": (),                 # writes runs/synthmotion/<profile>, read by nobody else
    "02": (),                 # writes videomae_synth_pretrain.safetensors
    "03": ("02",),            # fine-tunes 02's autoencoder; writes videomae_synth_classifier.safetensors
    "04": (),                 # writes mm_synth.safetensors (the dual encoder)
    "05": ("04",),            # mm_synth.get_dual_encoder
    "06": ("04",),
    "07": ("04",),
    "08": ("02", "03"),       # tal_synth.pretrained_encoder / finetuned_encoder (frozen and fine-tuned features)
    "09": ("02", "03"),       # ava_synth.encoder_checkpoint(kind="classifier" and "pretrained")
    "10": ("02",),            # openset_synth.ensure_pretrained_encoder
    "11": ("02", "04"),       # interaction_synth.load_encoders: 02's encoder and 04's dual encoder
    "12": ("04",),            # ego4d: mm_synth.get_dual_encoder
    "13": (),                 # nav_synth pretrains its own encoder (nav_synth_mae_seed<seed>.safetensors)
}

#: torch threads of each notebook's kernel, fixed (not derived from the machine) because a training run's numbers
#: depend on the thread count (it changes the order of float sums): with a fixed count the tutorial numbers are the
#: same on every machine. The tutorial numbers were tuned with two threads; measured 2026-12-05 with one thread
#: instead, 04's dual encoder reached t2v R@1 20 instead of 26, so notebook 05's zero-shot transfer fell to 11 % from
#: 36 % and 11's interaction to 59 % from 76 %. Two notebooks of two threads side by side on 2 cores ran as fast as
#: two of one thread (08: 203 s against 187 s), so the fixed count costs no time there.
THREADS: dict[str, int] = {}
DEFAULT_THREADS = 2


def threads_of(name: str) -> int:
    """The fixed torch thread count of notebook ``name`` (``"04"`` or ``"04_video_language_pretraining"``)."""
    return THREADS.get(number(name), DEFAULT_THREADS)


#: Seconds per notebook of the last full tutorial run (serial, 2-core CPU, 2026-12-05): the estimate used for
#: ordering and progress when ``runs/<profile>/times.json`` does not exist yet.
TUTORIAL_SECONDS: dict[str, float] = {
    "00": 7, "01": 21, "02": 120, "03": 86, "04": 94, "05": 8, "06": 7, "07": 24, "08": 210, "09": 144,
    "10": 139, "11": 126, "12": 238, "13": 209,
}


def number(name: str) -> str:
    """``"08_temporal_action_localization"`` (or ``.ipynb``) -> ``"08"``."""
    return name[:2]


def closure(deps: Mapping[str, Iterable[str]], key: str) -> set[str]:
    """Every notebook ``key`` depends on, directly or through others."""
    seen: set[str] = set()
    stack = list(deps.get(key, ()))
    while stack:
        d = stack.pop()
        if d not in seen:
            seen.add(d)
            stack.extend(deps.get(d, ()))
    return seen


def effective_dependencies(selected: Iterable[str], deps: Mapping[str, Iterable[str]] = DEPENDENCIES
                           ) -> dict[str, set[str]]:
    """The waits among the ``selected`` notebook numbers.

    A selected producer is waited for directly (and through unselected intermediates). For a producer that is
    not selected, the selected notebooks that need it (directly or transitively) are chained in number order:
    each waits for the previous one, which will have made the missing model.
    """
    sel = sorted(set(selected))
    unknown = [s for s in sel if s not in deps]
    if unknown:
        raise KeyError(f"no dependency entry for notebook(s) {unknown}: add them to DEPENDENCIES in "
                       f"internvideo_core/notebook_schedule.py (an empty tuple when they read nothing earlier)")
    out = {s: {d for d in closure(deps, s) if d in sel} for s in sel}
    missing = {d for s in sel for d in closure(deps, s)} - set(sel)
    for producer in missing:
        users = [s for s in sel if producer in closure(deps, s)]
        for before, after in zip(users, users[1:]):
            out[after].add(before)
    return out


def priorities(names: Iterable[str], estimates: Mapping[str, float], waits: Mapping[str, set[str]]
               ) -> dict[str, float]:
    """Each notebook's estimate plus the longest chain of estimates of the notebooks that wait for it (its bottom
    level); start order among ready notebooks is highest first. Unknown estimates count 60 s."""
    names = list(names)
    by_num = {number(n): n for n in names}
    est = {n: float(estimates.get(number(n), estimates.get(n, 60.0))) for n in names}
    consumers: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for d in waits[number(n)]:
            consumers[by_num[d]].append(n)
    memo: dict[str, float] = {}

    def level(n: str) -> float:
        if n not in memo:
            memo[n] = est[n] + max((level(c) for c in consumers[n]), default=0.0)
        return memo[n]

    return {n: level(n) for n in names}


@dataclass
class Event:
    """A scheduler event: ``kind`` is ``"start"``, ``"done"`` or ``"tick"`` (running notebooks, every
    ``tick_s``)."""
    kind: str
    name: str | None
    elapsed: float
    running: dict[str, float] = field(default_factory=dict)
    result: Any = None


def simulate(names: Iterable[str], estimates: Mapping[str, float], jobs: int,
             deps: Mapping[str, Iterable[str]] | None = None) -> tuple[float, list[tuple[str, float, float]]]:
    """The schedule :func:`run_scheduled` would follow if every notebook took its estimate (unknown: 60 s).

    Returns ``(makespan seconds, [(name, start, end), ...])`` — the run-time estimate printed before a run.
    """
    names = list(names)
    waits = effective_dependencies([number(n) for n in names], deps or DEPENDENCIES)
    by_num = {number(n): n for n in names}
    est = {n: float(estimates.get(number(n), estimates.get(n, 60.0))) for n in names}
    prio = priorities(names, estimates, waits)
    done_at: dict[str, float] = {}
    free = [0.0] * max(1, jobs)
    pending = set(names)
    plan: list[tuple[str, float, float]] = []
    running: list[tuple[float, str]] = []  # (end, name)
    now = 0.0
    while pending or running:
        ready = [n for n in pending if all(by_num[d] in done_at for d in waits[number(n)])]
        ready.sort(key=lambda n: (-prio[n], n))
        while ready and len(running) < len(free):
            n = ready.pop(0)
            pending.discard(n)
            heapq.heappush(running, (now + est[n], n))
            plan.append((n, now, now + est[n]))
        if not running:
            raise RuntimeError(f"dependency cycle among {sorted(pending)}")
        now, finished = heapq.heappop(running)
        done_at[finished] = now
    return now, plan


def run_scheduled(names: Iterable[str], run_one: Callable[[str], Any], *, jobs: int = 1,
                  estimates: Mapping[str, float] | None = None, deps: Mapping[str, Iterable[str]] | None = None,
                  on_event: Callable[[Event], None] | None = None, tick_s: float = 30.0,
                  stop_on_error: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """Run ``run_one(name)`` for every name (``"NN_topic"``), at most ``jobs`` at a time, each only after the
    notebooks it waits for (:func:`effective_dependencies`) have finished, ready ones longest-first
    (:func:`priorities`).

    ``run_one`` runs in a worker thread (it should start a subprocess for real work) and returns a result;
    ``stop_on_error(result)`` true stops starting new notebooks (running ones finish). A dependency that failed
    does not block its consumers: they fall back to training what is missing. Returns ``{name: result}``.
    """
    names = list(names)
    waits = effective_dependencies([number(n) for n in names], deps or DEPENDENCIES)
    prio = priorities(names, estimates or {}, waits)
    by_num = {number(n): n for n in names}
    emit = on_event or (lambda e: None)
    results: dict[str, Any] = {}
    started: dict[str, float] = {}
    pending = set(names)
    t0 = time.perf_counter()
    stop = threading.Event()
    futures: dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while (pending and not stop.is_set()) or futures:
            if not stop.is_set():
                ready = [n for n in pending if all(by_num[d] in results for d in waits[number(n)])]
                ready.sort(key=lambda n: (-prio[n], n))
                while ready and len(futures) < max(1, jobs):
                    n = ready.pop(0)
                    pending.discard(n)
                    started[n] = time.perf_counter()
                    emit(Event("start", n, started[n] - t0, _running(started, futures, n)))
                    futures[pool.submit(run_one, n)] = n
            if not futures:
                if pending and not stop.is_set():
                    raise RuntimeError(f"dependency cycle among {sorted(pending)}")
                break
            done, _ = wait(list(futures), timeout=tick_s, return_when=FIRST_COMPLETED)
            if not done:
                now = time.perf_counter()
                emit(Event("tick", None, now - t0, {futures[f]: now - started[futures[f]] for f in futures}))
                continue
            for f in done:
                n = futures.pop(f)
                results[n] = f.result()
                emit(Event("done", n, time.perf_counter() - t0, {}, results[n]))
                if stop_on_error and stop_on_error(results[n]):
                    stop.set()
    return results


def _running(started: dict[str, float], futures: dict[Future, str], new: str) -> dict[str, float]:
    now = time.perf_counter()
    return {n: now - started[n] for n in [*futures.values(), new]}
