#!/usr/bin/env bash
# The SmolLM2 work for one lent GPU machine (run by `deploy/gpu_grid.sh c`, env from there). Everything resumes:
# a cell whose current-protocol result exists is skipped, so a call that ran out of time is followed by the same call.
# Side by side on the 16 cores (a SmolLM2-135M trial keeps one core busy and takes 3-6 GiB of the GPU):
#   - the store's SmolLM2 cells that `bench refresh`'s staleness rule calls missing or stale (protocol v2, issue 21),
#     seed-major, by deploy/gpu_rerun.py: $WORKERS processes;
#   - the prompt-tuning recipe benchmark's SmolLM2 cells under the current protocol (trec and sst2 at 64 and 256;
#     9 fixed configurations and the race each) -> /root/extra: $RECIPE_WORKERS processes.
set -u
python3 deploy/gpu_rerun.py --results-dir $R --workers ${WORKERS:-14} --device ${DEVICE:-cuda} > $L/rerun.log 2>&1 &
# the recipe benchmark resumes from the configurations already measured (cp -p keeps them older than the marker)
mkdir -p /root/extra && cp -p data/benchmarks/pt-recipe-v2/smollm2-135m__* /root/extra/ 2>/dev/null
python3 benchmarks/prompt_tuning_recipe.py --models smollm2-135m --out /root/extra --device ${DEVICE:-cuda} \
        --workers ${RECIPE_WORKERS:-1} --results-dir $R > $L/recipe.log 2>&1 &
wait
