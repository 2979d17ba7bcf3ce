#!/usr/bin/env bash
# The SmolLM2 work for one lent GPU machine (started by `deploy/gpu_grid.sh b` in its own session; env from there).
# Three jobs side by side on the 16 cores (a SmolLM2-135M process keeps one core busy and the GPU far from full):
#   1. prompt tuning under recipe version 2 (class-label init, lr race {3e-2, 1e-1, 3e-1}) on every SmolLM2 cell the
#      store holds at n = 16/64/256, seed 0 — forced, because the cells exist under version 1;
#   2. the cells still missing at n = 16/64/256 for the other methods (resumes: existing results are skipped; the
#      generation task is complete for them);
#   3. the prompt-tuning recipe benchmark's missing SmolLM2 configurations (trec and sst2 at 64 and 256) -> /root/extra.
set -u
TASKS=${LLM_TASKS:-sst2,ag_news,trec,sms_spam,financial_phrasebank,rte,subj,tweet_offensive,tos_unfair,scicite,mrpc,en_fr_words}
run() { python3 -m bench.cli run --models smollm2-135m --tasks $TASKS --sizes 16,64,256 --seeds 0 --executor process \
        --threads 1 --device ${DEVICE:-cuda} --test-cap 500 --results-dir $R "$@"; }
# the recipe benchmark resumes from the configurations already measured (cp -p keeps them older than the marker)
mkdir -p /root/extra && cp -p data/benchmarks/pt-recipe/smollm2-135m__* /root/extra/
run --methods prompt_tuning --workers ${PT_WORKERS:-6} --force > $L/pt.log 2>&1 &
TASKS=${TASKS%,en_fr_words} run --methods prompt_engineering,linear_probe,prefix_tuning,lora,full_finetuning --workers ${REST_WORKERS:-6} > $L/rest.log 2>&1 &
python3 benchmarks/prompt_tuning_recipe.py --models smollm2-135m --out /root/extra --device ${DEVICE:-cuda} \
        --workers ${RECIPE_WORKERS:-3} > $L/recipe.log 2>&1 &
wait
