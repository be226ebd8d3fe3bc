#!/usr/bin/env bash
# The GPU check of issue 10, as one script of under 10 minutes on one CUDA GPU:
#   (a) the tests that are skipped without CUDA (GPU spans = CPU spans in fp32/fp16/bf16, ...),
#   (b) training the BERT-base-size stand-in for a few hundred steps in bf16 and in fp32:
#       sequences/s and peak memory (benchmarks/training.py --model base),
#   (c) benchmarks/inference.py --device cuda: words/s against the HF pipeline on the same GPU
#       (target: auto >= 5x the pipeline),
#   (d) learning from unlabelled news on CUDA in bf16, a few steps each: pretrain (masked-LM), self-train,
#       distill (a 4-layer BERT-size teacher into 2 layers); each must write a run folder that loads.
# Run from anywhere on a GPU machine with the project installed (`pip install -e .[dev]`):
#     bash benchmarks/gpu_check.sh            # PYTHON=/path/to/python to choose the interpreter
# Everything printed is also kept in gpu_check/ (one log per part) for the docs.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
LOG=${LOG:-gpu_check}
mkdir -p "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0

"$PY" - <<'PY' || { echo "no CUDA GPU visible to torch: nothing to check" >&2; exit 2; }
import torch
assert torch.cuda.is_available()
p = torch.cuda.get_device_properties(0)
print(f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}, torch {torch.__version__}")
PY

echo "== (a) CUDA-only tests"
timeout 240 "$PY" -m pytest -q -p no:cacheprovider -m "not labelstudio" -rs -k "gpu or cuda" tests 2>&1 | tee "$LOG/tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== (b) training, BERT-base size, batch 8 x 512, 200 measured steps per precision"
for precision in bf16 fp32; do
  timeout 150 "$PY" benchmarks/training.py --model base --precision "$precision" --steps 200 --warmup 10 \
      --batch-size 8 --max-length 512 2>&1 | grep -v "it/s\]" | tee "$LOG/training-$precision.txt"
  # exit 1 there means only that the 5% overhead target was missed; the figures are still printed
  [ "${PIPESTATUS[0]}" -le 1 ] || status=1
done

echo "== (c) inference, BERT-base size, GPU"
timeout 180 "$PY" benchmarks/inference.py --device cuda --articles 48 --json "$LOG/inference.json" 2>&1 \
    | grep -v "it/s\]" | tee "$LOG/inference.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== (d) pretrain, self-train and distill on CUDA, bf16, a few steps each"
UNL=${UNLABELLED:-training/unlabelled/sample.jsonl}
[ -f "$UNL" ] || UNL=tests/data/unlabelled.jsonl
D="$LOG/unlabelled"
rm -rf "$D"; mkdir -p "$D"
FEW="--train.precision=bf16 --train.max_steps=20 --train.batch_size=16 --train.runtime_gate=false"
timeout 120 "$PY" -m indoevent pretrain --config training/configs/pretrain-tiny.yaml --pretrain.unlabelled="$UNL" \
    --pretrain.from_scratch=true --pretrain.layers=4 --pretrain.hidden_size=768 --data.max_length=512 \
    --output-dir "$D/backbone" $FEW 2>&1 | grep -v "it/s\]" | tee "$LOG/pretrain.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
timeout 120 "$PY" -m indoevent train --config training/configs/tiny.yaml --model.name_or_path="$D/backbone" \
    --model.tiny_corpus=null --data.max_length=512 --output-dir "$D/teacher" $FEW 2>&1 | grep -v "it/s\]" \
    | tee "$LOG/teacher.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# indoevent self-train comes from issue 17 step 3 (branch partial): a missing command fails here, visibly.
timeout 120 "$PY" -m indoevent self-train --config training/configs/tiny.yaml --unlabelled "$UNL" \
    --output-dir "$D/self-train" $FEW 2>&1 | grep -v "it/s\]" | tee "$LOG/self-train.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
timeout 120 "$PY" -m indoevent distill --teacher "$D/teacher" --unlabelled "$UNL" --layers 2 \
    --output-dir "$D/student" $FEW 2>&1 | grep -v "it/s\]" | tee "$LOG/distill.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
for run in teacher self-train student; do
  [ -d "$D/$run" ] || continue
  timeout 60 "$PY" -m indoevent extract tests/data/unlabelled.jsonl --model "$D/$run" --out "$D/$run.jsonl" \
      2>&1 | tail -2 | tee -a "$LOG/extract-unlabelled.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

echo "== done (exit $status); logs in $LOG/"
exit $status
