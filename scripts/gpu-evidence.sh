#!/usr/bin/env bash
# gpu-evidence.sh — one ≤ 9-minute run on a lent GPU machine (one H200, 16 cores, no network) that
# brings back the evidence of claims 4, 5, 11, 12 and the DCGAN speed figures at GPU budgets
# (claim 7's RBMs run on the CPU, where one core does CD-1 at ≈ 50 updates/s).
# Sized by GPU run 1 (docs/reports/gpu-run-1): 15 processes sharing the GPU ran each at a few steps/s,
# so this version starts 12 and gives the stacked-MNIST suite only its 6 unfinished cells.
#
# HOW TO RUN (from the repository root of a copy of this working tree):
#   carry:     [".whl", ".gpudata"]     (both ignored via .git/info/exclude; prepare them first)
#     .whl/      POT's manylinux cp312 wheel (the `ot` module; the machine has numpy/scipy/torch):
#                python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#                  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#                  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#                  --platform manylinux1_x86_64 -d .whl POT==0.9.7.post1            (≈ 33 MB)
#     .gpudata/  mnist.npz: genzoo's MNIST cache (same keys and version as ~/.cache/genzoo/mnist.npz),
#                re-saved with np.savez_compressed (≈ 11.5 MB instead of 55 MB; genzoo reads it as is)
#   command:   bash scripts/gpu-evidence.sh        timeout_s: 600 (the script ends by ≈ 530 s)
#   results:   $OUT/<experiment>.tar.gz (tables, cell records, metrics.jsonl, reports, a few PNGs;
#              never checkpoints) and $OUT/logs.tar.gz (every log, pytest's summary, nvidia-smi samples,
#              timings and exit codes in logs/summary.txt). At most 8 files.
#   dry run:   GPU_EVIDENCE_DRY=1 bash scripts/gpu-evidence.sh   (this CPU: device cpu, tiny budgets,
#              2 processes at a time, OUT=/tmp/out unless OUT is set; a few minutes)
#
# TIMELINE. 0 s: install POT into /tmp/site. Phase A (alone on the GPU, ≤ 100 s): dcgan-throughput at
# precisions 32, 16-mixed, bf16-mixed (timings need an otherwise idle GPU); the test suite starts beside
# it on the CPU only. Phase B (everything in parallel, every job killed by `timeout` at END_S ≈ 495 s
# after the start): the experiments below. Then the tables of unfinished suites are rendered from their
# finished cells (`genzoo report`) and everything is packed. Every experiment writes its table after
# each finished model / cell, so a job killed at the deadline still returns what it finished.
#
# WHAT RUNS AND THE BUDGETS (GPU speed is estimated, not measured: an H200 runs these small nets
# launch-bound, ≈ 1–5 ms per step alone, slower with ~16 processes sharing it; sizes are conservative):
#  1. Claim 4, `stacked-mnist`: the full suite as specified (15 cells = 5 GANs × 3 seeds, 2 000
#     updates of batch 64, width-32 DCGANs, full evaluation on 26 000 / 10 000 samples), resumed from
#     docs/reports/stacked-mnist-gpu (9 cells done in GPU run 1), --jobs 3,
#     device cuda. Cells start seed by seed, so seed 0 of every model finishes first. The final
#     evaluation's classifier runs on the CPU (≈ 1 min of one core per cell), as in the spec.
#  2. Claim 5, `infogan-mnist`: the paper's networks (networks=paper, width 64) and budget: 5 000
#     updates of batch 128 (≈ 12.8 epochs; the paper: 50 epochs × 100 updates × 128), seeds 0, 1, 2
#     one after the other (a directory per seed).
#  3. (Claim 7 runs on the CPU: `genzoo bench rbm-mnist --set updates=25000 --set k=3,25 --set seed_list=S`.)
#  4. Claim 12, `vae-vs-iwae`: Burda et al.'s one-stochastic-layer MNIST model (200-200 tanh, 50
#     latent), Adam 1e-3, batch 20; VAE, IWAE k = 5, IWAE k = 50 (a process each), 25 000 updates =
#     10 epochs per model (the paper: 3 280 passes with an annealed lr), 3 seeds one after another,
#     test log-likelihood L_5000 on all 10 000 test images.
#  5. Claim 11, `translation`: its full (paper-budget) defaults — DualGAN 3 000 updates of batch 32
#     (RMSProp 5e-5) per pair × seeds 1, 2 (seed 0 is committed), pairs invert / thicken (a process
#     each) and CVAE-GAN 3 000 updates of batch 64 × 3 seeds (a third process), device cuda.
#  6. Speed: `dcgan-throughput` (phase A) on cuda, batch 64, 20 steps × 5 rounds per variant, at
#     precisions 32, 16-mixed (autocast only, no loss scaling) and bf16-mixed. And `pytest -n 6 -q`
#     of the plain test suite (tests/conftest.py has no CUDA mode), on the CPU (CUDA hidden) under
#     `nice -n 5` (6 workers, not 8: the 16 cores also feed ~16 GPU processes), stopped by SIGINT
#     after 300 s so that it still prints its summary: a check that genzoo
#     works under the machine's Python 3.12 / torch 2.11. Tests that call the `genzoo` console script
#     cannot pass there (genzoo is not installed; it runs from PYTHONPATH).
set -u
START_EPOCH=$(date +%s)
now() { echo $(( $(date +%s) - START_EPOCH )); }
REPO=$(pwd)

DRY=${GPU_EVIDENCE_DRY:-}
if [ -z "$DRY" ]; then
    # POT (`ot`) is the one dependency the machine lacks.
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        > /tmp/pip-install.log 2>&1 || echo "pip install of .whl failed (see logs/pip-install.log)"
    export PYTHONPATH=/tmp/site:$REPO
else
    export PYTHONPATH=$REPO
fi
export GENZOO_DATA=$REPO/.gpudata PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
OUT=${OUT:-/tmp/out}
EV=/tmp/ev
LOGS=$EV/logs
rm -rf "$EV"
mkdir -p "$EV" "$LOGS" "$OUT"
[ -f /tmp/pip-install.log ] && [ -z "$DRY" ] && cp /tmp/pip-install.log "$LOGS/"
SUMMARY=$LOGS/summary.txt
GZ="python3 -m genzoo"

if [ -z "$DRY" ]; then
    DEV=cuda; END_S=${GPU_EVIDENCE_END_S:-330}; PHASE_A_S=60; TEST_S=240
    SUITE=stacked-mnist
    STACKED=(--jobs 3 --set precision=32)   # float32 as in the CPU cells (precision=auto would pick bf16 on a GPU)
    INFOGAN=(--set networks=paper --set width=64 --set steps=5000 --set batch_size=128 --set precision=32)
    VAE=(--set steps=20000 --set seeds=3 --set eval_k=5000 --set n_test=10000)
    TRANS=(); TRANS_SEEDS=1,2
    THROUGHPUT=(--set precisions=32,16-mixed,bf16-mixed)
    TESTS=(-n 6 -q -rfE -p no:cacheprovider)
else
    DEV=cpu; END_S=900; PHASE_A_S=300; TEST_S=120
    SUITE=smoke   # stacked-mnist's full evaluation (26 000 samples per cell) is minutes of this CPU: same engine, 4 tiny cells
    STACKED=(--quick --jobs 2)
    INFOGAN=(--quick --set networks=paper --set width=8 --set steps=3 --set batch_size=16)
    VAE=(--quick --set steps=10 --set seeds=2 --set eval_k=10 --set n_test=100)
    TRANS_SEEDS=0,1
    TRANS=(--quick --set n=600 --set n_test=100 --set dualgan_steps=3 --set cvae_steps=3
           --set dualgan_sets=width=8,optimizer=adam --set cvae_sets=width=8,z_dim=8)
    THROUGHPUT=(--set precisions=32,bf16-mixed --set steps=2 --set rounds=1 --set batch_size=16 --set variants=plain)
    TESTS=(-q -rfE -p no:cacheprovider tests/test_lock.py)
fi

{
    echo "gpu-evidence.sh started $(date -u +%FT%TZ) dry=${DRY:-no} device=$DEV end_s=$END_S"
    echo "git: $(git -C "$REPO" rev-parse HEAD 2>/dev/null) $(git -C "$REPO" status --short 2>/dev/null | wc -l) changed paths"
    python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-')" 2>&1
    python3 -c "import ot, numpy, scipy; print('POT', ot.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)" 2>&1
    nproc; free -g 2>/dev/null | head -2; nvidia-smi 2>&1 | head -20
    grep -m1 'model name' /proc/cpuinfo; grep -o -w 'avx512f\|avx512_bf16\|amx_bf16\|amx_tile' /proc/cpuinfo | sort | uniq -c
    timeout 60 $GZ doctor 2>&1 | head -40
} > "$SUMMARY" 2>&1

declare -A PIDS=()
# launch NAME SECONDS CMD...: run CMD in the background under `timeout`, its output in logs/NAME.log.
# In a dry run at most two at a time (the development CPU is shared).
launch() {
    local name=$1 secs=$2; shift 2
    if [ -n "$DRY" ]; then
        while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    fi
    echo "$(now) s: start $name (timeout ${secs} s): $*" >> "$SUMMARY"
    ( t0=$(date +%s); timeout -k 10 "$secs" "$@" > "$LOGS/$name.log" 2>&1; rc=$?
      echo "$(( $(date +%s) - START_EPOCH )) s: end $name rc=$rc after $(( $(date +%s) - t0 )) s$([ $rc -eq 124 ] && echo ' (TIMED OUT)')" >> "$SUMMARY" ) &
    PIDS[$name]=$!
}
left() { local s=$(( END_S - $(now) )); [ $s -lt 30 ] && s=30; echo $s; }

# GPU utilisation samples every 10 s (evidence of how busy the shared GPU was)
SMI_PID=
if [ -z "$DRY" ] && command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv -l 10 > "$LOGS/nvidia-smi.csv" 2>&1 &
    SMI_PID=$!
fi

# ---------------------------------------------------------------- phase A: timings on an idle GPU
launch pytest $((TEST_S + 30)) env CUDA_VISIBLE_DEVICES= GENZOO_MARGINS="$LOGS/margins-gpu-host.jsonl" nice -n 5 timeout -s INT "$TEST_S" python3 -m pytest "${TESTS[@]}" \
    --junitxml="$LOGS/pytest-junit.xml"
launch dcgan-throughput "$PHASE_A_S" $GZ bench dcgan-throughput --out "$EV/dcgan-throughput" --set device=$DEV \
    --set threads=1 "${THROUGHPUT[@]}"
wait "${PIDS[dcgan-throughput]}"

# ---------------------------------------------------------------- phase B: the experiments, in parallel
# Claim 4 resumes the committed suite directory: its 9 finished cells stay, only the 6 missing run.
if [ -z "$DRY" ] && [ -d "$REPO/docs/reports/stacked-mnist-gpu/cells" ]; then
    mkdir -p "$EV/stacked-mnist" && cp -r "$REPO/docs/reports/stacked-mnist-gpu" "$EV/stacked-mnist/suite"
fi
launch stacked-mnist "$(left)" $GZ bench $SUITE --out "$EV/stacked-mnist/suite" --set device=$DEV "${STACKED[@]}"
for s in 0 1 2; do  # the three seeds side by side: one process each
    launch "infogan-mnist-s$s" "$(left)" $GZ bench infogan-mnist --out "$EV/infogan-mnist/seed$s" --set seed=$s \
        --set device=$DEV --set threads=1 "${INFOGAN[@]}"
done
for k in 1 5 50; do
    launch "vae-iwae-k$k" "$(left)" $GZ bench vae-vs-iwae --out "$EV/vae-vs-iwae/k$k" --set device=$DEV --set ks=$k "${VAE[@]}"
done
# claim 11: the seeds GPU run 1 did not finish (seed 0 of invert and thicken is committed)
for pair in invert thicken; do
    launch "translation-$pair" "$(left)" $GZ bench translation --out "$EV/translation/dualgan-$pair" --set device=$DEV \
        --set only=dualgan --set pairs=$pair --set seeds=$TRANS_SEEDS "${TRANS[@]}"
done
launch translation-cvae-gan "$(left)" $GZ bench translation --out "$EV/translation/cvae-gan" --set device=$DEV \
    --set only=cvae-gan "${TRANS[@]}"
for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}"; done
[ -n "$SMI_PID" ] && kill "$SMI_PID" 2> /dev/null

# ---------------------------------------------------------------- tables from finished cells, packing
echo "$(now) s: experiments over; report and pack" >> "$SUMMARY"
if [ -d "$EV/stacked-mnist/suite/cells" ]; then
    timeout -k 5 25 $GZ report "$EV/stacked-mnist/suite" > "$LOGS/stacked-mnist-report.log" 2>&1 \
        || echo "stacked-mnist report failed or timed out (rc $?)" >> "$SUMMARY"
fi
# pack NAME [exclude-pictures]: $OUT/NAME.tar.gz of $EV/NAME's text results (json, csv, jsonl, md, toml, txt,
# html) and the PNGs at most two levels down (not the per-run sample pictures); never checkpoints.
pack() {
    local name=$1 nopics=${2:-}
    local kinds=(-name '*.json' -o -name '*.csv' -o -name '*.jsonl' -o -name '*.md' -o -name '*.toml' -o -name '*.txt')
    [ -z "$nopics" ] && kinds+=(-o -name '*.html')
    [ -d "$EV/$name" ] || { echo "pack $name: no output directory" >> "$SUMMARY"; return; }
    ( cd "$EV" && {
        find "$name" -type f \( "${kinds[@]}" \) ! -name '*.tmp'
        [ -z "$nopics" ] && find "$name" -maxdepth 3 -type f -name '*.png' ! -path '*/runs/*' ! -path '*/figures/*'
      } | sort > "$EV/$name.list"
      tar -czf "$OUT/$name.tar.gz" -T "$EV/$name.list" )
    local size; size=$(stat -c %s "$OUT/$name.tar.gz")
    if [ "$size" -gt 15000000 ] && [ -z "$nopics" ]; then pack "$name" nopics; return; fi
    echo "packed $name.tar.gz: $(wc -l < "$EV/$name.list") files, $size bytes" >> "$SUMMARY"
}
for name in stacked-mnist infogan-mnist vae-vs-iwae translation dcgan-throughput; do pack "$name"; done
echo "$(now) s: done $(date -u +%FT%TZ)" >> "$SUMMARY"
tail -n 40 "$LOGS/pytest.log" > "$LOGS/pytest-tail.txt" 2> /dev/null
( cd "$EV" && tar -czf "$OUT/logs.tar.gz" logs )
ls -l "$OUT"
cat "$SUMMARY"
