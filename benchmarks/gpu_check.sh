#!/usr/bin/env bash
# One prepared GPU check of the kit: the VideoMAE peer-table benchmark, then a CUDA training smoke.
#
#   bash benchmarks/gpu_check.sh                     # on the GPU machine, from anywhere in the repo
#   GPU_CHECK_CPU_QUICK=1 bash benchmarks/gpu_check.sh   # the same steps on the CPU, tiny models (a proof run)
#
# Needs only python3 with torch, transformers, timm, einops, safetensors, numpy (no install: PYTHONPATH=.;
# no decord / PyAV / ftfy). Writes to "${OUT:-./bench_out}":
#   env.txt                 nvidia-smi, versions, CPU
#   bench_videomae.json     every cell (tracebacks of failed ones), rewritten after each cell
#   bench_videomae.md       the printed tables
#   train_smoke.json        the training-loop smoke (recipe, pretrain loop, fine-tune loop)
#   levers.json / levers.md the GPU levers (benchmarks/gpu_levers.py): attention backends, torch.compile incl.
#                           CUDA graphs, FP8 (torchao, when installed), the MAE step's graph breaks, the max-batch table
#   gpu_check.log           everything printed
# Copy them to benchmarks/measured/<gpu>_*.json / .md and commit (the device's working tree does not come back).
# GPU_CHECK_STEPS (default "bench,smoke,levers") picks steps: a second call with GPU_CHECK_STEPS=levers finishes
# the levers when the first call ran out of SCRIPT_BUDGET; LEVERS_PARTS picks their parts.
# Every step has a hard `timeout`; the benchmark also gets a softer --deadline-s so it stops by itself,
# prints its tables and leaves the JSON complete. Worst case about 9.3 min (SCRIPT_BUDGET bounds the smoke and
# the levers); the peer table + smoke take about 5-7 min, the levers get what is left, so on one H100/H200 plan
# a second call for them (about 5 min):  GPU_CHECK_STEPS=levers SCRIPT_BUDGET=320 bash benchmarks/gpu_check.sh
# Budgets (seconds) can be changed: BENCH_TIMEOUT (350), CELL_TIMEOUT (150), SMOKE_TIMEOUT (80),
# LEVERS_TIMEOUT (300), SCRIPT_BUDGET (540: the smoke is skipped when less than 40 s of it is left, the levers
# when less than 30 s is).
set -u
cd "$(dirname "$0")/.." || exit 1
OUT="${OUT:-./bench_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export TORCH_LOGS="${TORCH_LOGS--dynamo}"  # Dynamo warnings (graph breaks) only at ERROR: counted in the JSON
BENCH_TIMEOUT="${BENCH_TIMEOUT:-350}"
CELL_TIMEOUT="${CELL_TIMEOUT:-150}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-80}"
SCRIPT_BUDGET="${SCRIPT_BUDGET:-540}"
LEVERS_TIMEOUT="${LEVERS_TIMEOUT:-300}"
LEVERS_PARTS="${LEVERS_PARTS:-mae,attention,compile,memory,fp8}"
STEPS=",${GPU_CHECK_STEPS:-bench,smoke,levers},"
QUICK="${GPU_CHECK_CPU_QUICK:-0}"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
SECONDS=0
echo "== gpu_check.sh $(date -Is) repo $(pwd) out $OUT quick=$QUICK"

# ---------------------------------------------------------------------------------------------- environment
{
  echo "== nvidia-smi"
  timeout 20 nvidia-smi 2>&1 || echo "(nvidia-smi unavailable)"
  echo "== cpu"
  nproc; (timeout 5 free -g || true); uname -a
  echo "== python"
  timeout 90 "$PY" - <<'EOF' 2>&1
import importlib, platform, sys
print("python", platform.python_version(), sys.executable)
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.1f} GiB", "capability", torch.cuda.get_device_capability(0))
    print("bf16", torch.cuda.is_bf16_supported(), "cudnn", torch.backends.cudnn.version())
for name in ("transformers", "timm", "einops", "safetensors", "numpy", "triton", "decord", "av", "ftfy"):
    try:
        print(name, getattr(importlib.import_module(name), "__version__", "?"))
    except Exception as exc:  # missing optional packages are expected (decord, av, ftfy)
        print(name, "MISSING", type(exc).__name__)
import internvideo_core, internvideo_core.train.pretrain, internvideo_core.train.finetune  # noqa: E401
import internvideo_core.recipes.videomae_synth  # noqa: F401
print("internvideo_core imports OK from", internvideo_core.__file__)
EOF
  echo "== gcc"; (gcc --version 2>&1 | head -1) || echo "(no gcc)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ---------------------------------------------------------------------------------------------- benchmark
if [ "$QUICK" = "1" ]; then
  export TORCHINDUCTOR_COMPILE_THREADS=1 OMP_NUM_THREADS=1
  BENCH_ARGS=(--quick --device cpu --threads 1 --order sequential)
  SMOKE_ARGS=(--quick --device cpu --threads 1)
else
  BENCH_ARGS=(--device cuda --model base --frames 16 --img-size 224
              --batch-inference 32 --batch-finetune 16 --batch-pretrain 32 --order sequential
              --warmup 5 --repeats 6 --iters 5)
  SMOKE_ARGS=(--device cuda)
fi
if [[ "$STEPS" == *,bench,* ]]; then
echo "== [$SECONDS s] bench_videomae.py (hard timeout ${BENCH_TIMEOUT}s)"
timeout -k 15 "$BENCH_TIMEOUT" "$PY" benchmarks/bench_videomae.py "${BENCH_ARGS[@]}" \
  --contenders kit,hf_sdpa,hf_eager,official,kit_compile \
  --cell-timeout "$CELL_TIMEOUT" --deadline-s "$((BENCH_TIMEOUT - 30))" \
  --out "$OUT/bench_videomae.json" --markdown "$OUT/bench_videomae.md"
echo "== [$SECONDS s] bench_videomae.py exit code $?"
fi

# ---------------------------------------------------------------------------------------------- training smoke
LEFT=$((SCRIPT_BUDGET - SECONDS))
if [[ "$STEPS" != *,smoke,* ]]; then
  echo "== [$SECONDS s] training smoke not in GPU_CHECK_STEPS"
elif [ "$LEFT" -lt 40 ] || [ "$SMOKE_TIMEOUT" -lt 20 ]; then
  echo "== [$SECONDS s] training smoke skipped: ${LEFT}s of SCRIPT_BUDGET left, SMOKE_TIMEOUT ${SMOKE_TIMEOUT}s"
else
  T=$((LEFT < SMOKE_TIMEOUT ? LEFT : SMOKE_TIMEOUT))
  echo "== [$SECONDS s] gpu_train_smoke.py (hard timeout ${T}s)"
  timeout -k 10 "$T" "$PY" benchmarks/gpu_train_smoke.py "${SMOKE_ARGS[@]}" \
    --part-timeout 60 --deadline-s "$((T - 10))" --out "$OUT/train_smoke.json"
  echo "== [$SECONDS s] gpu_train_smoke.py exit code $?"
fi

# ---------------------------------------------------------------------------------------------- GPU levers
LEFT=$((SCRIPT_BUDGET - SECONDS))
if [[ "$STEPS" != *,levers,* ]]; then
  echo "== [$SECONDS s] levers not in GPU_CHECK_STEPS"
elif [ "$LEFT" -lt 30 ]; then
  echo "== [$SECONDS s] levers skipped: ${LEFT}s of SCRIPT_BUDGET left (rerun with GPU_CHECK_STEPS=levers)"
else
  T=$((LEFT < LEVERS_TIMEOUT ? LEFT : LEVERS_TIMEOUT))
  if [ "$QUICK" = "1" ]; then LEVERS_ARGS=(--quick --device cpu); else LEVERS_ARGS=(--device cuda); fi
  echo "== [$SECONDS s] gpu_levers.py $LEVERS_PARTS (hard timeout ${T}s; the JSON is rewritten after every part)"
  timeout -k 10 "$T" "$PY" benchmarks/gpu_levers.py "${LEVERS_ARGS[@]}" --parts "$LEVERS_PARTS" \
    --out "$OUT/levers.json" --markdown "$OUT/levers.md"
  echo "== [$SECONDS s] gpu_levers.py exit code $?"
fi

# ---------------------------------------------------------------------------------------------- summary
echo "== [$SECONDS s] done; files in $OUT:"
ls -l "$OUT"
"$PY" - "$OUT" <<'EOF' 2>&1 || true
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
b = out / "bench_videomae.json"
if b.exists():
    r = json.loads(b.read_text())
    print("bench status:", r["meta"].get("status"), "| failed cells:",
          [f"{e['workload']}/{e['contender']}: {e['error'][:120]}" for e in r.get("errors", [])])
lv = out / "levers.json"
if lv.exists():
    r = json.loads(lv.read_text())
    print("levers status:", r["meta"].get("status"), "| parts:",
          {k: ("error" if "error" in v else f"{v.get('seconds', 0):.0f} s") for k, v in r["parts"].items()})
s = out / "train_smoke.json"
if s.exists():
    r = json.loads(s.read_text())
    print("smoke status:", r["meta"].get("status"))
    for name, p in r["parts"].items():
        keys = ("clips_per_s", "peak_mem_gib", "first_loss", "last_loss", "test_top1", "optimizer", "error")
        print(f"  {name}:", {k: p[k] for k in keys if k in p})
EOF
exit 0
