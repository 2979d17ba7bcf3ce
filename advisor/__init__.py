"""tuning-advisor: should you prompt-engineer, prompt-tune, prefix-tune, LoRA-tune or fully fine-tune?

The advisor is torch-free: importing it never imports torch or transformers.
"""

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
