"""One meaning per word: the glossary the app and the README share."""

GLOSSARY: dict[str, str] = {
    "prompt_engineering": "Writing the input by hand: an instruction and optionally a few labeled examples shown "
                          "in the prompt (few-shot / in-context learning). No parameter changes, no training; "
                          "works even through an API.",
    "prompt_tuning": "Learning a short sequence of soft-prompt vectors (e.g. 20 virtual tokens) prepended to the "
                     "input embeddings while every model weight stays frozen (Lester et al. 2021). Only those "
                     "vectors are trained and stored per task.",
    "prefix_tuning": "Learned vectors inserted as extra keys and values at every layer's attention, not only at "
                     "the input (Li & Liang 2021; P-tuning v2, Liu et al. 2022). Frozen model, more capacity "
                     "than prompt tuning, still small per task.",
    "lora": "Low-rank update matrices added to chosen weight matrices (here attention query/value); the backbone "
            "stays frozen and the adapter can be merged into the weights for serving (Hu et al. 2022).",
    "full_finetuning": "Every weight is updated; each task needs its own full copy of the model.",
}
