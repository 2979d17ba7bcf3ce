#!/usr/bin/env bash
# The work for one lent GPU machine (run by `deploy/gpu_grid.sh run`, env from there). Everything resumes: a cell
# whose current-protocol result exists is skipped, so a call that ran out of time is followed by the same call.
# Side by side on the 16 cores (a trial keeps one core busy; a SmolLM2-135M trial takes 3-6 GiB of the GPU):
#   - the SmolLM2 cells that `bench refresh`'s staleness rule calls missing or stale (deploy/refresh-smollm2.yaml,
#     the store's test cap of 500), seed-major: $LLM_WORKERS processes, bf16 autocast;
#   - the MiniLM cells of the CPU refresh (data/refresh.yaml), from the end of its order so that the background
#     `bench refresh` on the CPU machine, which starts from the front, meets it in the middle: $ENC_WORKERS processes, fp32;
#   - with RECIPE_WORKERS > 0, the prompt-tuning recipe benchmark's SmolLM2 cells (done under protocol v2 in Dec 2026)
#     -> /root/extra.
set -u
python3 deploy/gpu_rerun.py --results-dir $R --workers ${LLM_WORKERS:-3} --device cuda --test-cap 500 \
        > $L/rerun-smollm2.log 2>&1 &
python3 deploy/gpu_rerun.py --config data/refresh.yaml --results-dir $R --workers ${ENC_WORKERS:-12} \
        --device cuda-fp32 --reverse > $L/rerun-minilm.log 2>&1 &
if [ "${RECIPE_WORKERS:-0}" -gt 0 ]; then
  # the recipe benchmark resumes from the configurations already measured (cp -p keeps them older than the marker)
  mkdir -p /root/extra && cp -p data/benchmarks/pt-recipe-v2/smollm2-135m__* /root/extra/ 2>/dev/null
  python3 benchmarks/prompt_tuning_recipe.py --models smollm2-135m --out /root/extra --device cuda \
          --workers $RECIPE_WORKERS --results-dir $R > $L/recipe.log 2>&1 &
fi
wait
