"""Mutation testing of the kit's core with mutmut: plant small bugs, run the tests that cover them, count survivors.

``make mutation`` (or ``python tools/mutation.py [MODULE ...]``) runs each core module of :data:`TARGETS` against
its own tests only, so a module takes minutes, not the whole suite per mutant. Each module is mutated in a
private copy of the checkout (mutmut reads its configuration from ``pyproject.toml`` in the working folder and
writes a ``mutants/`` tree; neither touches the checkout). Results go to ``runs/mutation/``:

- ``<module>.json``: mutmut's counts (killed, survived, timeout, ...), the score and the survivors with diffs;
- ``REPORT.md``: one row per module, then every surviving mutant that is not listed as known in
  ``tests/mutation_survivors.md`` (the survivors judged equivalent or accepted, each with its reason).

The score counts a timeout as killed (the mutant made the tests hang, which they would report) and excludes
the known-equivalent survivors. Reading a survivor: ``mutmut show NAME`` in the module's work folder prints the
diff; either a test is missing (write one that fails on the diff) or the mutant is equivalent (add it to
``tests/mutation_survivors.md`` with the reason).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# module (relative to internvideo_core/) -> the tests that exercise it (files, or pytest node ids where one file
# tests much more than the module, so a module run stays minutes)
_B, _P, _O = "tests/test_boundaries.py::", "tests/test_videomae_parity.py::", "tests/test_openset.py::"
_S = "tests/test_speed_options.py::"  # never its torch.compile graph-break tests: mutmut's trampolines break the graph
_N = "tests/test_recipe_nav.py::"
TARGETS: dict[str, list[str]] = {
    "masking.py": ["tests/test_masking.py"],
    "models/vit.py": ["tests/test_vit_units.py", "tests/test_videomae_parity.py",
                      _B + "test_every_layer_norm_uses_the_configured_eps"],
    "models/videomae.py": ["tests/test_videomae_units.py", "tests/test_videomae_parity.py",
                           _B + "test_normalised_pixel_target_divides_by_unbiased_std_plus_eps_on_near_flat_tubelets",
                           _B + "test_reconstruct_round_trips_near_flat_tubelets",
                           _B + "test_every_layer_norm_uses_the_configured_eps",
                           _S + "test_a_wrong_masked_count_is_refused_on_cpu",
                           _S + "test_mae_loss_with_the_count_equals_the_loss_without_it"],
    "models/pos_embed.py": [_P + "test_resized_pos_table_matches_official",
                            _P + "test_sinusoid_table_equals_numpy_reference",
                            _P + "test_pos_table_resizing_rules",
                            _P + "test_pos_table_values_errors_and_each_resize_step"],
    "models/layers.py": ["tests/test_layers_units.py", "tests/test_videomae_parity.py",
                         _B + "test_every_layer_norm_uses_the_configured_eps"],
    "eval/_common.py": ["tests/test_metrics_common.py", "tests/test_metrics_localization.py",
                        "tests/test_metrics_detection.py"],
    "models/heads.py": ["tests/test_heads_units.py", "tests/test_qa_head.py",
                        _O + "test_exp_annealing_goes_from_start_towards_one_as_dear_computes_it",
                        _O + "test_evidential_loss_by_hand_log_loss_plus_weighted_kl",
                        _O + "test_evidential_classifier_wraps_a_videomae_encoder_and_an_mm_video_tower"],
    "models/attention_backend.py": ["tests/test_attention_backend.py",
                                    _S + "test_math_attention_gives_the_default_logits",
                                    _S + "test_unknown_attention_backend_is_refused",
                                    _S + "test_speed_wrapper_runs_the_command_inside_the_attention_backend"],
    "models/mm_video.py": ["tests/test_mm_units.py", "tests/test_mm_parity.py", "tests/test_mm_clip_init.py",
                           "tests/test_key_manifests_mm.py", "tests/test_interaction.py"],
    "models/mm_text.py": ["tests/test_mm_units.py", "tests/test_mm_parity.py", "tests/test_mm_clip_init.py"],
    "models/mm.py": ["tests/test_mm_units.py", "tests/test_mm_parity.py", "tests/test_mm_clip_init.py",
                     "tests/test_key_manifests_mm.py"],
    "models/interaction.py": ["tests/test_interaction.py"],
    "models/tal_head.py": ["tests/test_tal_head_units.py", "tests/test_tal_head.py"],
    "models/roi_head.py": ["tests/test_roi_head_units.py", "tests/test_ava_detection.py"],
    "models/grounding.py": ["tests/test_grounding_units.py", "tests/test_grounding_model.py"],
    "models/nav_policy.py": ["tests/test_nav_policy_units.py",
                             _N + "test_the_policy_stepping_through_an_episode_equals_the_whole_episode_forward",
                             _N + "test_the_token_embedding_is_frozen_and_the_rest_trains"],
    "eval/localization.py": ["tests/test_metrics_localization.py",
                             _B + "test_tal_prediction_exactly_at_the_tiou_threshold_is_a_true_positive"],
    "eval/detection.py": ["tests/test_metrics_detection.py",
                          _B + "test_ava_detection_exactly_at_iou_half_is_a_true_positive"],
    "eval/retrieval.py": ["tests/test_metrics_retrieval.py"],
    "eval/classification.py": ["tests/test_metrics_classification.py"],
    "eval/openset.py": ["tests/test_metrics_openset_qa.py",
                        _B + "test_open_set_rejects_only_uncertainty_strictly_above_the_threshold",
                        _O + "test_openset_report_separates_confident_known_from_evidence_free_unknown",
                        _O + "test_openset_report_equals_the_official_functions_on_random_logits",
                        _O + "test_roc_curve_runs_from_origin_to_one_and_its_area_is_the_auroc"],
    "eval/qa.py": ["tests/test_metrics_openset_qa.py"],
    "eval/zeroshot.py": ["tests/test_zeroshot.py"],
    "eval/grounding.py": ["tests/test_metrics_grounding.py", "tests/test_ego4d_formats.py"],
    "eval/navigation.py": ["tests/test_metrics_navigation.py"],
    "eval/ava_results.py": ["tests/test_ava_results_units.py", "tests/test_ava_detection.py"],
    "eval/long_video.py": ["tests/test_long_video_units.py"],
    "eval/qa_heads.py": ["tests/test_qa_heads_units.py"],
    "eval/embedding_cache.py": ["tests/test_embedding_cache_units.py"],
    "eval/__init__.py": ["tests/test_eval_package_exports.py"],
    "data/sampling.py": ["tests/test_sampling.py"],
    "data/transforms.py": ["tests/test_transforms.py"],
    "train/schedule.py": ["tests/test_train_optim.py"],
    "train/optim.py": ["tests/test_train_optim.py"],
    "train/checkpointing.py": ["tests/test_checkpointing_units.py", "tests/test_train_resume.py"],
    "train/contrastive.py": ["tests/test_contrastive.py", "tests/test_contrastive_loop.py",
                             _B + "test_contrastive_loss_clamps_the_temperature_on_unaligned_pairs"],
    "text.py": ["tests/test_tokenizer.py", _B + "test_doubly_escaped_caption_with_a_tag_tokenizes_like_the_plain_one"],
    "hub.py": ["tests/test_hub_units.py", "tests/test_hub.py", "tests/test_hub_messages.py",
               "tests/test_hub_hardening.py",
               _B + "test_cached_file_recorded_on_first_use_is_refused_when_the_published_digest_differs"],
}
KNOWN = REPO / "tests" / "mutation_survivors.md"


def known_survivors() -> set[str]:
    """Mutant names listed in ``tests/mutation_survivors.md`` (lines ``- `NAME`: reason``)."""
    if not KNOWN.exists():
        return set()
    return set(re.findall(r"^- `([^`]+)`", KNOWN.read_text(), flags=re.M))


def _function_lines(lines: list[str], name: str) -> list[str] | None:
    """The source lines of ``def name(`` (header to the last line of its body) in ``lines``, or None."""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(f"def {name}("):
            indent = len(line) - len(stripped)
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
                                      or lines[j].lstrip().startswith(")")):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            return lines[i:j]
    return None


def _diff(work: Path, module: str, name: str) -> str | None:
    """The unified diff of one mutant against the original function, read from mutmut's ``mutants/`` copy
    (what ``mutmut show`` prints, without starting mutmut once per survivor); None if it cannot be found."""
    import difflib

    path = work / "mutants" / "internvideo_core" / module
    func = name.rsplit(".", 1)[-1]
    orig = func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    mutant, original = _function_lines(lines, func), _function_lines(lines, orig)
    if mutant is None or original is None:
        return None
    mutant = [mutant[0].replace(func, orig, 1), *mutant[1:]]  # same name, so only the mutation differs
    body = difflib.unified_diff(original, mutant, f"internvideo_core/{module}",
                                f"internvideo_core/{module}", lineterm="", n=2)
    return f"# {name}: survived\n" + "\n".join(body) + "\n"


def _stage(work: Path, module: str, tests: list[str], max_children: int) -> None:
    """Copy the tracked files into ``work`` and point mutmut's configuration at one module."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    text = (work / "pyproject.toml").read_text()
    text = re.sub(r"\n\[tool\.mutmut\][^\[]*", "\n", text)  # replace the checked-in defaults
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["internvideo_core"]\n'
        f'only_mutate = ["internvideo_core/{module}"]\n'
        'also_copy = ["data", "notebooks"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q", "-m", "not slow and not notebook"]\n'
        "mutate_only_covered_lines = true\n"
    )
    (work / "pyproject.toml").write_text(text)


def run_module(module: str, max_children: int, keep: bool) -> dict:
    """Mutate one module in a private copy; returns the counts, score and survivor diffs."""
    tests = TARGETS[module]
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(work)
    # one thread: mutmut forks a child per mutant from a process that already ran the tests, and an OpenMP /
    # intra-op thread pool does not survive a fork (the child would hang on a lock until the timeout, which
    # would count as killed); one thread per mutant is also what the machine can spare
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "INTERNVIDEO_NUM_THREADS"):
        env[var] = "1"
    mutmut = [sys.executable, "-m", "mutmut"]
    start = time.perf_counter()
    try:
        _stage(work, module, tests, max_children)
        subprocess.run(mutmut + ["run", "--max-children", str(max_children)], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        subprocess.run(mutmut + ["export-cicd-stats"], cwd=work, env=env, check=True, capture_output=True)
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        listing = subprocess.run(mutmut + ["results"], cwd=work, env=env, check=True, capture_output=True,
                                 text=True).stdout
        survivors = re.findall(r"^\s*(\S+): survived", listing, flags=re.M)
        diffs = {name: _diff(work, module, name) or subprocess.run(
            mutmut + ["show", name], cwd=work, env=env, capture_output=True, text=True).stdout for name in survivors}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    known = known_survivors()
    unexplained = [s for s in survivors if s not in known]
    killed = stats["killed"] + stats.get("timeout", 0)
    counted = killed + len(unexplained)
    return {
        "module": module, "tests": tests, "stats": stats, "seconds": round(time.perf_counter() - start, 1),
        "score": round(100.0 * killed / counted, 1) if counted else 100.0,
        "survivors": survivors, "unexplained": unexplained, "diffs": diffs,
        "work_dir": str(work) if keep else None,
    }


def write_report(results: list[dict], out: Path) -> Path:
    lines = ["# Mutation testing report", "",
             "| module | mutants | killed | survived (known) | score % | seconds |", "|---|---|---|---|---|---|"]
    for r in results:
        s = r["stats"]
        known = len(r["survivors"]) - len(r["unexplained"])
        lines.append(f"| {r['module']} | {s['total']} | {s['killed'] + s.get('timeout', 0)} | "
                     f"{len(r['survivors'])} ({known}) | {r['score']} | {r['seconds']} |")
    lines += ["", "## Unexplained survivors (write a test, or list it in tests/mutation_survivors.md)", ""]
    for r in results:
        for name in r["unexplained"]:
            lines += [f"### {name}", "```diff", r["diffs"][name].strip(), "```", ""]
    path = out / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules under internvideo_core/ (default: all): "
                                                   f"{', '.join(TARGETS)}")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="parallel mutants")
    parser.add_argument("--keep", action="store_true", help="keep each module's work folder (for mutmut show)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "mutation")
    parser.add_argument("--fail-under", type=float, default=None, metavar="SCORE",
                        help="exit with status 1 when a module scores below SCORE percent (for a CI smoke run)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {list(TARGETS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for module in args.modules or list(TARGETS):
        print(f"[mutation] {module} against {' '.join(TARGETS[module])} ...", flush=True)
        r = run_module(module, args.max_children, args.keep)
        (args.out / (module.replace("/", "_").removesuffix(".py") + ".json")).write_text(json.dumps(r, indent=2))
        print(f"[mutation] {module}: {r['stats']['total']} mutants, score {r['score']} %, "
              f"{len(r['unexplained'])} unexplained survivors, {r['seconds']} s", flush=True)
        results.append(r)
    print(f"[mutation] report: {write_report(results, args.out)}")
    low = [r["module"] for r in results if args.fail_under is not None and r["score"] < args.fail_under]
    if low:
        print(f"[mutation] below {args.fail_under} %: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
