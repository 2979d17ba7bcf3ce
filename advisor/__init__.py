"""tuning-advisor: should you prompt-engineer, prompt-tune, prefix-tune, LoRA-tune or fully fine-tune?

The advisor is torch-free: importing it never imports torch or transformers.
"""

import os

# The advisor's linear algebra is a few hundred multiply-adds: BLAS/OpenMP thread pools only fight for the cores
# (cold `advisor recommend` took 4-11 s beside a benchmark with the default pools, 2.4 s with one thread). Set
# before numpy is first imported; a caller's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # not OMP: torch training in the same process keeps its own
    os.environ.setdefault(_var, "1")

from advisor.costs import CostEstimate, estimate, estimate_all
from advisor.profile import OPTIONS, FieldProblem, ProfileError, ProjectProfile
from advisor.recommend import OptionResult, Recommendation, recommend
from advisor.table import DecisionTable, TableError, load_table

__all__ = [
    "OPTIONS",
    "CostEstimate",
    "DecisionTable",
    "FieldProblem",
    "OptionResult",
    "ProfileError",
    "ProjectProfile",
    "Recommendation",
    "TableError",
    "estimate",
    "estimate_all",
    "load_table",
    "recommend",
]
__version__ = "0.1.0"
