"""tuning-advisor — Streamlit questionnaire. UI only: every decision is made in `advisor`.

Run: make run  (streamlit run app.py on 127.0.0.1:8501)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from advisor import OPTIONS, ProfileError, ProjectProfile, load_table, recommend
from advisor.artifact import load_served, served_path
from advisor.evidence import learning_curves, load_results, results_dir
from advisor.glossary import GLOSSARY
from advisor.compare import compare, shown, table_rows
from advisor.costs import (GB, USABLE_SHARE, available_memory_gb, dollars_range, format_dollars, usable_memory_gb, gpu_count, human_duration, pilot_duration, prompt_cost_sentence, qlora_accuracy_cost,
                           throughput_source, time_warnings, totals)
from advisor.models import get_model
from advisor.options import COLOURS, LABELS, factor_words
from advisor.profile import (CHOICES, HELP, MAX_PROFILE_BYTES, OPTIONAL_FLOATS, WEIGHTS_ONLY_FIELDS, model_choices,
                             short)
from advisor.report import (CHANCE_COLUMN, CHANCE_NOTE, basis_lines, below_chance_note, display_rows, format_bytes, gap_line, ranking_rows,
                            tie_sentence, to_markdown)

st.set_page_config(page_title="tuning-advisor", layout="wide")

# The wizard: one form per step; answers live in st.session_state["answers"], so going
# back shows what was entered (widgets are re-created from these values on every run).
STEPS: list[tuple[str, list[str]]] = [
    ("Your data and task", ["labeled_examples", "task_complexity", "num_classes", "avg_input_tokens", "pair_input",
                            "domain_shift", "zero_shot_accuracy", "probe_accuracy", "prompt_accuracy",
                            "prompt_accuracy_n"]),
    ("Your model and resources", ["model_access", "model_params_b", "compute", "gpu_memory_gb", "num_gpus",
                                  "sharding", "precision", "batch_size", "seq_len", "context_length",
                                  "budget_gpu_hours", "price_per_gpu_hour", "price_per_m_training_tokens",
                                  "ml_expertise"]),
    ("Your goals and constraints", ["accuracy_goal", "overfitting_risk", "preserve_capabilities", "num_tasks",
                                    "iteration_speed", "long_term", "interpretability", "data_governance"]),
]
# Asked only where a provider fine-tunes: no provider trains for API-only access or for open weights (a review).
PROVIDER_ONLY = ("price_per_m_training_tokens",)
DEFAULTS = ProjectProfile().to_dict()
CHOICE_LABELS = {
    "weights": "open weights (we can run and train it)",
    "api_with_finetuning": "a provider API that offers fine-tuning",
    "api_only": "a provider API, prompting only",
    # Compute levels name the hardware they mean (issue 24 item 5: bare "minimal/low/medium/high" explained only in a
    # tooltip); the same wording as the CLI's --compute help and the throughput each level assumes.
    ("compute", "minimal"): "minimal — a laptop or CPU only",
    ("compute", "low"): "low — one consumer GPU (up to 24 GB)",
    ("compute", "medium"): "medium — one datacenter GPU (40-80 GB)",
    ("compute", "high"): "high — a multi-GPU node (8 GPUs of 80 GB)",
}


def choice_label(field: str, value: str) -> str:
    """What a dropdown shows for a stored answer (the answer itself keeps the value)."""
    return CHOICE_LABELS.get((field, value), CHOICE_LABELS.get(value, value.replace("_", " ")))
QUESTIONS = {
    "labeled_examples": "How many labeled examples do you have?",
    "task_complexity": "What is the task like?",
    "num_classes": "How many output classes?",
    "avg_input_tokens": "Typical input length (tokens)?",
    "pair_input": "Each example has two texts",
    "domain_shift": "How different is your data from everyday web text?",
    "model_access": "What access do you have to the model?",
    "model": "Model",
    "model_params_b": "Model size (billions of parameters)",
    "compute": "What compute can you train on?",
    "gpu_memory_gb": "GPU memory in GB (optional)",
    "budget_gpu_hours": "Training budget in GPU-hours per task (optional)",
    # Both measured with our small reference model (`advisor pilot`): gauges of how hard the task is, which the
    # expected accuracies read — not the user's own model (a reviewer typed their prompt's 0.95 here).
    "zero_shot_accuracy": "Task gauge: zero-shot accuracy of our reference model on your data, 0-1 (optional)",
    "probe_accuracy": "Task gauge: linear-probe accuracy of our reference model on your examples, 0-1 (optional)",
    "prompt_accuracy": "Your own model's prompt accuracy on held-out rows of your data, 0-1 (optional)",
    "prompt_accuracy_n": "How many held-out rows that prompt accuracy was measured on (with it)",
    "ml_expertise": "Your team's experience training models",
    "num_gpus": "Number of GPUs",
    "sharding": "Shard weights and optimizer state across GPUs (ZeRO-3 / FSDP) when that is what fits?",
    "precision": "Weights precision",
    "batch_size": "Training batch size per GPU",
    "epochs": "Training epochs",
    "lora_rank": "LoRA rank r",
    "seq_len": "Training sequence length in tokens (0 = input + label)",
    "context_length": "Serving context length in tokens (0 = what each option sends)",
    "price_per_m_training_tokens": "Provider fine-tuning price, $ per 1M training tokens (optional)",
    "price_per_gpu_hour": "Your price per GPU-hour in $ (optional; else an on-demand range for your compute level)",
    "accuracy_goal": "How much accuracy do you need?",
    "overfitting_risk": "How worried are you about overfitting?",
    "preserve_capabilities": "The model must keep its general skills",
    "num_tasks": "How many tasks will one deployment serve?",
    "iteration_speed": "How fast must behaviour change?",
    "long_term": "This is a long-term, maintained solution",
    "interpretability": "Prefer a human-readable adaptation (a written prompt)",
    "data_governance": "The data is sensitive and must stay in-house",
}


@st.cache_data(show_spinner=False)
def cached_results(path: str, stamp: tuple[int, int, int]) -> pd.DataFrame:
    return load_results(path)


def _store_stamp(path: Path) -> tuple[int, int, int]:
    """(newest mtime in ns, file count, total bytes) over every file in the store: an in-place edit of one result
    file changes it (the folders' own times, the old key, do not move when a file is rewritten in place)."""
    if not path.exists():
        return (0, 0, 0)
    stats = [p.stat() for p in path.rglob("*.json") if p.is_file()]
    return (max((s.st_mtime_ns for s in stats), default=0), len(stats), sum(s.st_size for s in stats))


def results() -> pd.DataFrame:
    path = results_dir()
    return cached_results(str(path), _store_stamp(path))


@st.cache_data(show_spinner=False)
def cached_flagged(path: str, stamp: tuple[int, int, int]) -> list[str]:
    """Files in the store that no reader uses (issue 25), as 'name: reason' lines, at most 20 plus a count."""
    from bench.results import flagged_lines, scan

    return flagged_lines(scan(path, warn=False)[1], path, limit=20, width=160)


@st.cache_data(show_spinner=False)
def table_frame() -> pd.DataFrame:
    t = load_table()
    return pd.DataFrame([{"rule": r.id, "factor": r.factor, "weight": r.weight,
                          **{LABELS[o]: f"{r.effects[o]:+.0f}" for o in OPTIONS}, "why": r.rationale,
                          "source": r.source} for r in t.rules])


def answers() -> dict[str, Any]:
    if "answers" not in st.session_state:
        st.session_state["answers"] = ProjectProfile().to_dict()
        st.session_state["step"] = 0
    return st.session_state["answers"]


def widget_key(field: str) -> str:
    """The key of a wizard field's widget. Loading a profile starts a new generation of keys: a keyed widget keeps
    what the browser holds (even unsubmitted typing in a form, which a Session State write does not replace), so
    new answers need new widgets. Generation 0 keeps the plain `w_<field>` keys."""
    generation = st.session_state.get("widget_generation", 0)
    return f"w_{field}" + (f"_{generation}" if generation else "")


def widget(field: str, value: Any) -> Any:
    label, help_ = QUESTIONS[field], HELP[field]
    key = widget_key(field)
    if field in CHOICES:
        options = list(CHOICES[field])
        # Show words, not raw values ("api_only" -> "api only"); the stored answer keeps the value.
        return st.selectbox(label, options, index=options.index(value), help=help_, key=key,
                            format_func=lambda v: choice_label(field, v))
    if field in ("preserve_capabilities", "long_term", "interpretability", "data_governance", "pair_input"):
        return st.checkbox(label, value=bool(value), help=help_, key=key)
    # Numbers as text: the profile validates them, so errors read the same as everywhere else.
    # A model picked by name fixes its size (pick "custom" in the Model box above to type one). Each model gets
    # its own locked widget, so a picked model's size is shown fresh, never what was typed in the custom box.
    model = st.session_state.get("answers", {}).get("model") if field == "model_params_b" else None
    if field == "model_params_b" and st.session_state.get("answers", {}).get("model_access", "weights") != "weights":
        key += "@api"  # its own widget: the API's size starts from the answer (empty), not from what the box held
    return st.text_input(label, value="" if value is None else f"{value:g}" if isinstance(value, float) else str(value),
                         help=help_ + (" Set by the model picked above." if model else ""),
                         key=key + (f"@{model}" if model else ""),
                         # Only optional answers may be left empty (issue 24 item 3: the size box said "leave empty
                         # if unknown", then refused the empty answer).
                         placeholder="leave empty for the compute level's (8 for high, else 1)"
                         if field == "num_gpus" else
                         "leave empty if unknown" if field in OPTIONAL_FLOATS and not (
                             field == "model_params_b" and
                             st.session_state.get("answers", {}).get("model_access", "weights") == "weights")
                         else None,
                         disabled=model is not None)


def step_of(field: str) -> int:
    return next(i for i, (_, fields) in enumerate(STEPS) if field in fields)


def wizard() -> None:
    profile_io()
    a = answers()
    step = st.session_state["step"]
    if step >= len(STEPS):
        st.progress(1.0, text="Your recommendation")
        answer_page()
        return
    st.progress((step + 1) / (len(STEPS) + 1), text=f"Step {step + 1} of {len(STEPS)}")  # three questions pages
    title, fields = STEPS[step]
    errors: dict[str, str] = st.session_state.get("errors", {})
    st.subheader(title)
    values = {}
    if "model_access" in fields:
        # Asked outside the form so the questions below follow the answer at once: with API access the provider's
        # hardware trains and serves, so compute, GPU memory and GPU-hours are not asked (and not used: the table's
        # compute rules apply to open weights only).
        before = a.get("model_access", "weights")
        values["model_access"] = widget("model_access", a.get("model_access"))
        a["model_access"] = values["model_access"]
        if before == "weights" and a["model_access"] != "weights" and a.get("model") is None \
                and a.get("model_params_b") == DEFAULTS["model_params_b"]:
            # The size box still holds the form's starting 1 (required for own weights): for an API model it would
            # answer "your 1B model" about a size nobody gave. An API's size may be unknown: start it empty.
            a["model_params_b"] = None
        elif before != "weights" and a["model_access"] == "weights" and a.get("model") is None \
                and a.get("model_params_b") is None:
            # Back to own weights, where a size is required: the form's starting value again, not an empty box
            # that refuses Next.
            a["model_params_b"] = DEFAULTS["model_params_b"]
        if values["model_access"] != "weights":
            st.caption("With API access the provider's hardware does the work: no questions about your GPUs.")
    shown = [f for f in fields if f != "model_access"
             and not (f in WEIGHTS_ONLY_FIELDS and a.get("model_access", "weights") != "weights")
             and not (f in PROVIDER_ONLY and a.get("model_access", "weights") != "api_with_finetuning")]
    if "model_params_b" in fields:
        model_picker(a)  # outside the form: picking a model must show its size before the form is submitted
    with st.form(f"step{step}"):
        for f in shown:
            values[f] = widget(f, a.get(f))
            if f in errors:  # the error sits at its field, not below the form
                st.error(errors[f])
        back, save, nxt = st.columns(3)
        go_back = back.form_submit_button("← Back", disabled=step == 0)
        # A form sends its values only when submitted: without this, a profile saved from this page lacked the
        # answers chosen on it (issue 24 item 2). Saving validates and stores them, and stays on the step.
        go_save = save.form_submit_button("Save answers (stay here)")
        go_next = nxt.form_submit_button("Next →" if step < len(STEPS) - 1 else "Get my recommendation",
                                         type="primary")
    if go_back or go_next or go_save:
        # Keep what was typed whatever happens: Back never loses an answer, and a bad value stays visible to fix.
        candidate = {**a, **{k: (None if v == "" else v) for k, v in values.items()}}
        if candidate.get("model_access") != "weights":
            # Questions not asked are not answered: a value typed before switching to API access is dropped,
            # so it can neither steer the answer nor hold an error on a field that is no longer shown.
            candidate.update({f: DEFAULTS[f] for f in WEIGHTS_ONLY_FIELDS})
        if candidate.get("model_access") != "api_with_finetuning":
            candidate.update({f: DEFAULTS[f] for f in PROVIDER_ONLY})
        st.session_state["answers"] = candidate
        try:
            profile = ProjectProfile.from_dict(candidate)
        except ProfileError as err:
            problems = {p.field: f"**{QUESTIONS.get(p.field, p.field)}** — "
                                 + ("left empty" if p.value is None else f"got {str(p.value)[:40]!r}")
                                 + f"; allowed: {p.allowed}." for p in err.problems}
            st.session_state["errors"] = problems
            here = [f for f in problems if f in fields]
            if go_back:
                # Back always works: another step's bad value must not trap you on this one.
                st.session_state["step"] = step - 1
            elif here or go_save:
                pass  # stay; the errors render at their fields
            elif step < len(STEPS) - 1:
                st.session_state["step"] = step + 1
            else:
                # The final submit validates everything: go to the first step that still has a bad value.
                st.session_state["step"] = min(step_of(f) for f in problems if any(f in fs for _, fs in STEPS))
            st.rerun()
        st.session_state["errors"] = {}
        st.session_state["answers"] = profile.to_dict()
        st.session_state["profile"] = profile  # validated once, here; the answer page uses this object
        st.session_state["step"] = step - 1 if go_back else step + 1 if go_next else step
        if go_save:
            st.session_state["saved_note"] = "Answers saved: the profile download now holds them."
        st.rerun()
    if st.session_state.pop("saved_note", None):
        st.success("Answers saved: the profile download (under “Load or save a profile”) now holds them.")
    if step == step_of("probe_accuracy"):
        pilot_panel()


# The pilot fills these answers from the measurement (advisor.pilot.PilotResult.profile_values).
PILOT_FIELDS = ("zero_shot_accuracy", "probe_accuracy", "labeled_examples", "num_classes", "prompt_accuracy",
                "prompt_accuracy_n", "model", "model_params_b")


def pilot_panel() -> None:
    """Upload a CSV, pick its text and label columns, measure zero-shot and linear-probe accuracy on it.

    The measuring runs `bench probe` in a subprocess (advisor.pilot): the app never imports torch. The uploaded
    bytes stay in memory; their rows go to a temporary folder deleted when the run ends.
    """
    from advisor.pilot import MAX_BYTES, MAX_ROWS, PilotError, columns, run_pilot, validate_csv

    done = st.session_state.get("pilot")
    # A bordered container, not an expander: st.status is itself an expander and they may not nest.
    with st.container(border=True):
        st.markdown("**Pilot on your data** — measure zero-shot and probe accuracy from a CSV")
        st.caption("Zero-shot and linear-probe accuracy measured on your rows with the MiniLM encoder — the "
                   "backbone the advisor's calibration was measured with, not your model — in a minute or two on a "
                   f"CPU. UTF-8 CSV with a header, at most {MAX_BYTES / 1e6:.0f} MB and {MAX_ROWS:,} rows; read for "
                   "this session only, never stored.")
        upload = st.file_uploader("Your labeled CSV", type=["csv"], key="pilot_file")
        if done is not None:
            st.success(pilot_sentence(done))
            for note in done.get("notes", []):
                st.caption(note)
        if upload is None:
            return
        raw = upload.getvalue()
        try:
            names = columns(raw)
        except PilotError as err:
            st.error(f"**{upload.name}** — {err}")
            return
        left, right = st.columns(2)
        text = left.selectbox("Text column", names, index=names.index("text") if "text" in names else 0,
                              key="pilot_text")
        label = right.selectbox("Label column", names, key="pilot_label",
                                index=names.index("label") if "label" in names else len(names) - 1)
        model = st.text_input("Your model (optional)", key="pilot_model",
                              placeholder="leave empty to measure with MiniLM only",
                              help="A local Hugging Face folder (config.json + *.safetensors), smollm2-135m, or a "
                                   "catalog model already downloaded into the Hugging Face cache. Its prompting "
                                   "(zero-shot and with demonstrations) is measured on your held-out rows and "
                                   "replaces the predicted prompt-engineering accuracy.").strip() or None
        quick = st.checkbox("Also one quick LoRA run on my data (a few more minutes; on your model when given)",
                            key="pilot_quick")
        if not st.button("Run the pilot", key="pilot_run", type="primary"):
            return
        try:
            data = validate_csv(raw, text, label)
        except PilotError as err:
            st.error(f"**{upload.name}** — {err}")
            return
        with st.status("Measuring on your data…", expanded=True) as status:
            board, latest = st.empty(), st.empty()
            stages: dict[int, Any] = {}
            clock = {"start": time.monotonic(), "total": 0}

            def draw() -> None:
                board.markdown("\n".join(stage_text(i, clock["total"], stg, time.monotonic() - clock["start"])
                                         for i, stg in sorted(stages.items())))

            def on_stage(i: int, total: int, stg: Any) -> None:
                stages[i], clock["total"] = stg, total
                if stg.seconds is None:
                    clock["start"] = time.monotonic()
                draw()

            def progress(line: str) -> None:
                # Only the stage board and the subprocess's own "# ..." milestones: no tqdm bars or raw logs.
                if line.startswith("# ") or line.startswith("... "):
                    latest.caption(line.lstrip("#. ").strip()[:200])
                draw()

            try:
                result = run_pilot(raw, text, label, quick=quick, progress=progress, data=data, model=model,
                                   memory_gb=answers().get("gpu_memory_gb"), on_stage=on_stage)
            except PilotError as err:
                status.update(label="The pilot failed", state="error")
                st.error(str(err))
                return
            status.update(label=f"Measured in {result.seconds:.0f} s", state="complete", expanded=False)
        st.session_state["pilot"] = {**result.to_dict(), "file": upload.name}
        st.session_state["answers"] = {**answers(), **result.profile_values()}
        # New widgets show the measured answers: a keyed widget keeps what the browser holds, even a value never
        # submitted, so the form gets a new generation of keys (see widget_key), as after loading a profile.
        st.session_state["widget_generation"] = st.session_state.get("widget_generation", 0) + 1
        st.rerun()


def stage_text(i: int, total: int, stg: Any, elapsed: float) -> str:
    """One line of the pilot's stage board: done (its time beside its estimate) or running (elapsed of estimate)."""
    est = f"estimated {pilot_duration(stg.estimate_s)}" if stg.estimate_s else "no estimate"
    if stg.seconds is not None:
        return f"- ✅ Stage {i} of {total}: {stg.name} — {pilot_duration(stg.seconds)} ({est})"
    return f"- ⏳ Stage {i} of {total}: {stg.name} — running, {pilot_duration(elapsed)} so far ({est})"


def pilot_sentence(pilot: dict[str, Any]) -> str:
    text = (f"Measured on {pilot.get('file', 'your data')}: zero-shot accuracy **{pilot['zero_shot_accuracy']:.3f}**, "
            f"linear-probe accuracy **{pilot['probe_accuracy']:.3f}** (on {pilot['n_test']:,} held-out rows, with the "
            f"{pilot['backbone']} encoder, not your model). Filled into your answers: labeled examples {pilot['n_rows']:,}, classes {pilot['num_classes']}, "
            f"zero-shot and probe accuracy.")
    if pilot.get("prompt_accuracy") is not None:
        text += (f" Prompting with your model {pilot['model']}: **{pilot['prompt_accuracy']:.3f}** on "
                 f"{pilot['prompt_n']:,} held-out rows (zero-shot {pilot['prompt_zero_shot_accuracy']:.3f}"
                 + (f", with demonstrations {pilot['prompt_few_shot_accuracy']:.3f}"
                    if pilot.get("prompt_few_shot_accuracy") is not None else "")
                 + "); filled in as prompt accuracy and the model's size.")
    if pilot.get("lora_accuracy") is not None:
        text += (f" Quick LoRA run: **{pilot['lora_accuracy']:.3f}** ({pilot['lora']['steps']} steps on "
                 f"{pilot['lora']['train_size']:,} examples with {pilot.get('model') or pilot['backbone']}).")
    return text


def pilot_measured_on(profile: ProjectProfile) -> str | None:
    """The pilot's basis sentence while the answers still hold its measurements (edited by hand: not ours)."""
    pilot = st.session_state.get("pilot")
    if not pilot or (profile.zero_shot_accuracy, profile.probe_accuracy) != (
            round(pilot["zero_shot_accuracy"], 4), round(pilot["probe_accuracy"], 4)):
        return None
    if pilot.get("prompt_accuracy") is not None and profile.prompt_accuracy != round(pilot["prompt_accuracy"], 4):
        return None
    return pilot["measured_on"]


def memory_chart(profile: ProjectProfile, rec: Any) -> None:
    """Memory per option by component, read from the same plan as the table and the reasons (cost.memory_plan)."""
    if profile.model_access != "weights":
        return  # the provider holds the weights: there is no memory of ours to size
    st.subheader("Memory per GPU by component")
    if profile.model:  # a named model's documented shape; else the costs guess it from the size
        st.caption(f"{profile.model}: {get_model(profile.model).shape_text()} (data/models.yaml, with its sources).")
    rows = []
    for r in rec.ranking:
        plan = r.cost.memory_plan or {}
        # The configuration as the table names it, with the micro-batch that makes it fit (the plan's own name
        # left it out; a review, 2026-12-05).
        label = f"{rec.label(r.option)} — {r.cost.configuration or plan.get('configuration', '')}"
        rows += [{"option": label, "phase": "training", "component": k, "GB": plan.get(k, 0.0) / GB}
                 for k in ("weights", "gradients", "optimizer", "activations")]
        rows += [{"option": label, "phase": "serving", "component": k, "GB": plan.get(k, 0.0) / GB}
                 for k in ("inference_weights", "kv_cache")]
    frame = pd.DataFrame(rows)
    frame["usable GB per GPU"] = usable_memory_gb(profile)
    bars = alt.Chart().mark_bar().encode(
        y=alt.Y("option"), x=alt.X("GB", stack="zero", title="GB per GPU"), color="component",
        tooltip=["option", "component", alt.Tooltip("GB", format=",.2f")])
    # The memory you have, as a rule across both panels: a bar past it does not fit (issue 24 item 6).
    limit = alt.Chart().mark_rule(color="#d62728", strokeDash=[6, 3], size=2).encode(
        x="max(usable GB per GPU):Q", tooltip=[alt.Tooltip("max(usable GB per GPU):Q", title="usable GB")])
    st.altair_chart(alt.layer(bars, limit, data=frame).facet(row="phase"))
    st.caption(f"Each bar is the configuration the answer names (the cheapest standard one that fits, or the "
               f"smallest one when none does); the dashed red line is the memory a job can use: "
               f"{USABLE_SHARE:.0%} of each of {gpu_count(profile)} GPU(s) of {available_memory_gb(profile):,.0f} GB "
               "(the rest holds the CUDA context and allocator fragmentation). Training time assumes "
               f"{throughput_source(profile)}.")


def assumptions(profile: ProjectProfile) -> ProjectProfile:
    """The assumptions behind every cost figure, stated and changeable (issue 23 item 4): a change goes into the
    answers and the one cost computation (advisor.costs) prices everything below with it."""
    # Only what prices something here: through an API the provider's job reads the epochs alone, and prompting
    # through an API nothing (a review, 2026-12-05: the API page asked for, and saved, a batch and a precision).
    fields = {"weights": ("epochs", "lora_rank", "batch_size", "seq_len", "precision"),
              "api_with_finetuning": ("epochs",)}.get(profile.model_access, ())
    if not fields:
        return profile
    # "At least": the figures train the measured protocol's 5 passes (100-320 steps) where those are more.
    said = {"epochs": f"at least {profile.epochs} epoch{'s' if profile.epochs != 1 else ''}"
                      if profile.model_access == "weights" else
                      f"{profile.epochs} epoch{'s' if profile.epochs != 1 else ''}",
            "lora_rank": f"LoRA rank {profile.lora_rank}", "batch_size": f"batch {profile.batch_size}",
            "seq_len": f"sequence length {profile.seq_len or 'your input + answer'}",
            "precision": f"precision {profile.precision}"}
    with st.expander("Assumptions behind the figures: " + ", ".join(said[f] for f in fields)):
        with st.form("assumptions"):
            values = {f: widget(f, getattr(profile, f)) for f in fields}
            apply = st.form_submit_button("Update the figures")
        if apply:
            candidate = {**answers(), **{k: (None if v == "" else v) for k, v in values.items()}}
            try:
                changed = ProjectProfile.from_dict(candidate)
            except ProfileError as err:
                for p in err.problems:
                    st.error(f"**{QUESTIONS.get(p.field, p.field)}** — got {str(p.value)[:40]!r}; allowed: {p.allowed}.")
            else:
                st.session_state["answers"], st.session_state["profile"] = changed.to_dict(), changed
                # Drawn again from the top: the expander's title above was written with the old values ("3 epochs"
                # over figures for 10, a review found).
                st.rerun()
    return profile


def answer_page() -> None:
    profile = st.session_state.get("profile")
    if profile is None or profile.to_dict() != answers():  # answers changed elsewhere (e.g. loaded): validate them
        profile = ProjectProfile.from_dict(answers())
    profile = assumptions(profile)
    with st.spinner("Computing the answer…"):  # the first answer in a process loads the served calibration
        rec = recommend(profile, measured_on=pilot_measured_on(profile))
    # The evidence recommend() itself cited, never a fresh read of the live store: the page, the JSON and the
    # Markdown download then show the same runs the answer rests on (issue 13 item 6).
    evidence = list(rec.extra.get("evidence") or [])
    best = rec.ranking[0]
    st.success(f"**{rec.summary()}**")
    if rec.extra.get("measured_on"):
        st.info(pilot_sentence(st.session_state["pilot"]))
    extra = rec.to_dict()
    if extra.get("basis"):
        st.caption(extra["basis"])
    cal = rec.extra.get("calibration")
    if cal is None:
        # Why (issue 25): a missing or damaged served calibration or SERVED pointer is named in one sentence.
        why = rec.mode[len("rules-only ("):-1] if rec.mode.startswith("rules-only (") else ""
        st.caption("Calibration: rules-only — " + (f"{why}. " if why else "") + "the decision table decides; "
                   "measured benchmark cells are shown as evidence below.")
    else:
        when = f"Calibrated on {cal['calibrated_on']} from {cal['runs']} runs" if cal["calibrated_on"] else \
            f"Calibrated live from {cal['runs']} measured runs (no refresh promoted yet)"
        st.caption(f"{when} — a score is the decision table's, minus what the benchmark-fitted model's expected accuracy takes off an option measurably below the best (beyond the decision margin of that difference: the evaluation's error of a difference, widened with the distance from the evidence).")
    rows = ranking_rows(rec)  # the same rows as the Markdown report and the CSV download
    st.subheader("All five options")
    st.dataframe(pd.DataFrame(display_rows(rows)), hide_index=True, width="stretch", key="ranking_table")
    if rows and CHANCE_COLUMN in rows[0]:
        st.caption(f"{CHANCE_COLUMN[0].upper() + CHANCE_COLUMN[1:]}: {CHANCE_NOTE}")
    below = below_chance_note(rec)
    if below:
        st.caption(below)
    if rec.extra.get("basis"):
        st.markdown(f"**What the numbers rest on.** {rec.extra['basis']}")
        for line in basis_lines(rec):
            st.caption(line)
        if gap_line(rec):
            st.caption(gap_line(rec))
    if tie_sentence(rec):
        st.info(tie_sentence(rec))
    # Pareto view: expected accuracy (measured calibration) when there is one, else the rules score.
    # Plotted are the feasible options: one a budget pays no example of has no expected accuracy, and is not one.
    calibrated = all(r.expected_accuracy for r in rec.ranking if r.feasible) and any(r.expected_accuracy
                                                                                     for r in rec.ranking)
    y = "expected accuracy" if calibrated else "score"
    # Only feasible options are plotted (an infeasible one has no cost to compare); they are listed beside the
    # charts. Options that do not train have no GPU-hours: they are named, never plotted at an invented value.
    feasible = [r for r in rec.ranking if r.feasible]
    infeasible = [r for r in rec.ranking if not r.feasible]
    plotted = [rec.label(r.option) for r in feasible]
    # The legend lists only what is plotted (it once listed all five beside two points).
    colour = alt.Color("option", scale=alt.Scale(domain=plotted, range=[COLOURS[r.option] for r in feasible]))
    chart = pd.DataFrame([{"option": rec.label(r.option),
                           y: r.expected_accuracy["point"] if calibrated else r.score,
                           "low": r.expected_accuracy["low"] if calibrated else None,
                           "high": r.expected_accuracy["high"] if calibrated else None,
                           "train GPU-hours": r.cost.train_gpu_hours,
                           "stored per task (MB)": r.cost.storage_bytes_per_task / 1e6} for r in feasible],
                         # Named columns: with no feasible option (70B on a laptop) the frame is empty, not shapeless.
                         columns=["option", y, "low", "high", "train GPU-hours", "stored per task (MB)"])
    left, right = st.columns(2)
    if len(chart) < 2:
        chart = chart.iloc[0:0]  # one feasible option has nothing to be compared with: no chart, the table says it

    def points(frame: pd.DataFrame, x: str, title: str) -> alt.Chart:
        """Each option at its cost (log axis: costs span orders of magnitude), with its 10-90% interval as a bar
        when the accuracies are expected ones — a point alone claimed more certainty than the table's interval."""
        fmt = ".2f" if calibrated else ".0f"
        base = alt.Chart(frame, title=title).encode(x=alt.X(x, scale=alt.Scale(type="log")), color=colour)
        dots = base.mark_circle(size=140).encode(
            y=alt.Y(y, scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt)),
            tooltip=["option", alt.Tooltip(y, format=fmt), x] + (["low", "high"] if calibrated else []))
        return base.mark_rule(size=3, opacity=0.5).encode(y="low", y2="high") + dots if calibrated else dots

    trained = chart[chart["train GPU-hours"] > 0]
    if not trained.empty:
        left.altair_chart(points(trained, "train GPU-hours", f"{y.capitalize()} vs estimated training cost"),
                          width="stretch")
    # No GPU-hours of yours: prompting does not train; provider fine-tuning trains on the provider's hardware and
    # is priced in training tokens instead. Named, never plotted at an invented value.
    off_axis = [f"{rec.label(r.option)} (" + (f"trained by the provider: {r.cost.training_tokens:,} training tokens"
                                           if r.cost.training_tokens else "no training") + ")"
                for r in feasible if r.cost.train_gpu_hours <= 0]
    if off_axis and not chart.empty:
        left.caption(f"Not on the GPU-hours axis: {'; '.join(off_axis)}.")
    stored = chart[chart["stored per task (MB)"] > 0]  # 0 B (the provider stores it) has no place on a log axis
    if len(stored) >= 1 and not chart.empty:
        right.altair_chart(points(stored, "stored per task (MB)", f"{y.capitalize()} vs storage per task"),
                           width="stretch")
        nothing = [rec.label(r.option) for r in feasible if r.cost.storage_bytes_per_task <= 0]
        if nothing:
            right.caption(f"Not on the storage axis (nothing stored on your side): {', '.join(nothing)}.")
    if infeasible:
        # Options blocked for the same reason are listed together: one sentence per reason, not one per option.
        by_reason: dict[str, list[str]] = {}
        for r in infeasible:
            by_reason.setdefault(r.infeasible_reasons[0] if r.infeasible_reasons else "infeasible", []).append(
                rec.label(r.option))
        st.markdown("**Not feasible for your setup (not plotted):**\n" + "\n".join(
            f"- {', '.join(names)} — {reason}" for reason, names in by_reason.items()))

    memory_chart(profile, rec)
    costs = {r.option: r.cost for r in rec.ranking}
    for line in time_warnings(profile, costs, proposed=tuple(r.option for r in feasible[:1])):
        st.warning(line)
    if profile.num_tasks > 1:
        t = totals(profile, costs)
        own = profile.model_access == "weights"
        # Feasible options only; through an API the provider's GPUs train and serve, so its bill is all there is.
        # Its own name: the ranking's `rows` is what the CSV download below writes (a review, 2026-12-05: with
        # num_tasks > 1 the "table" download held these totals instead).
        total_rows = [{"option": rec.label(o),
                       **({"training time": human_duration(v["gpu_hours"]) if v["gpu_hours"] else "—",
                           "training cost": dollars_range(*v["train_dollars"]) if v["train_dollars"] else "—",
                           "storage": format_bytes(int(v["storage_gb"] * GB)),
                           "serving memory GB": round(v["serving_memory_gb"], 1)} if own else
                          {"provider cost": format_dollars(v["provider_dollars"])})}
                      for o, v in t.items() if rec.option(o).feasible and (own or v["provider_dollars"] is not None)]
        if total_rows:
            st.subheader(f"Totals for {profile.num_tasks} tasks")
            st.dataframe(pd.DataFrame(total_rows), hide_index=True)
            if own:
                st.caption("Serving: one shared base model plus each task's adapter or prompt, against one full "
                           "copy per task for full fine-tuning.")
    prompt_cost = prompt_cost_sentence(profile, costs)
    if prompt_cost:
        st.caption(prompt_cost)
    q = qlora_accuracy_cost()
    # Only where the user's own GPUs train (through an API the provider's hardware does; a review found this caption
    # on an api_only page).
    if profile.model_access == "weights" and any("QLoRA" in (r.cost.configuration or "") and r.feasible
                                                 for r in rec.ranking):
        st.caption(f"QLoRA vs 16-bit LoRA: median {q['median_points']:+.1f} points (range {q['min_points']:+.1f} to "
                   f"{q['max_points']:+.1f}) over {q['pairs']} paired results — {q['source']}.")

    st.subheader("Why")
    for r in rec.ranking:
        with st.expander(f"{r.rank}. {rec.label(r.option)} — "
                         + (f"score {r.score:.0f}" if r.feasible else "infeasible"),
                         expanded=r.rank == 1):
            for why in r.infeasible_reasons:
                st.markdown(f"- **infeasible:** {why}")
            for x in r.reasons[:5]:
                st.markdown(f"- {'**+**' if x.direction == 'for' else '**−**'} **{factor_words(x.factor)}** (weight {x.weight:g}, "
                            f"{x.contribution:+g}): {x.rationale}  \n  *Source: {x.source}*")
            if len(r.reasons) > 5:
                # Said, so the reasons shown are not read as all of the score (a review, 2026-12-05).
                rest = r.reasons[5:]
                st.caption(f"…and {len(rest)} more reason{'s' if len(rest) != 1 else ''} "
                           f"(net {sum(x.contribution for x in rest):+g}): the full list is in the JSON download.")
    recipe_section(rec)
    st.subheader("Measured evidence")
    if evidence:
        for e in evidence:
            st.markdown(f"- {e['sentence']} ({e['backbone']})")
        st.caption("Learning curves per task are on the Evidence page.")
    else:
        st.info("This answer cites no measured runs (rules-only: no calibration is served). The Evidence page "
                "shows what has been measured.")
    st.subheader("What would change the answer")
    for c in rec.counterfactuals:
        st.markdown(f"- {c}")
    if rec.caveats:
        st.subheader("Caveats")
        # "X fits in 73.6 GB with ..." says which configuration fits, not a risk: one info block, so five of them no
        # longer bury the real warnings (a review, 2026-12-05).
        fits = [c for c in rec.caveats if any(c.startswith(f"{rec.label(o)} fits in ") for o in OPTIONS)]
        for c in rec.caveats:
            if c not in fits:
                st.warning(c)
        if fits:
            st.info("\n\n".join(fits))
    if rec.hybrids:
        st.subheader("Hybrids worth considering")
        for h in rec.hybrids:
            st.markdown(f"- **{h['name']}**: {h['rationale']} *({h['source']})*")
    data = rec.to_dict()
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Download JSON", json.dumps(data, indent=2), "recommendation.json", "application/json")
    c2.download_button("Download Markdown report", to_markdown(rec, evidence), "recommendation.md", "text/markdown")
    c3.download_button("Download the table (CSV)", pd.DataFrame(rows).to_csv(index=False), "ranking.csv", "text/csv")
    if c4.button("← Change my answers"):
        st.session_state["step"] = len(STEPS) - 1
        st.rerun()


def recipe_section(rec) -> None:
    """What to run for the pick and the runner-up (advisor.recipe): every value with its source, as YAML and as a
    runnable transformers + peft script."""
    from advisor.recipe import RecipeError, plan, recipe, to_script

    feasible = [r.option for r in rec.ranking if r.feasible][:2]
    if not feasible:
        return
    st.subheader("What to run")
    st.markdown("**The plan**\n" + "\n".join(
        f"{i}. **{s.title}** — {s.cost}. *Then:* {s.proceed_if}.  \n   `{s.command}`"
        for i, s in enumerate(plan(rec), 1)))
    for i, option in enumerate(feasible):
        if option != "prompt_engineering" and rec.profile.model_access != "weights":
            # The provider trains and hosts: a transformers script for weights the user does not hold is no recipe
            # (a review, 2026-12-04); the plan above says what to send and what it costs.
            name = rec.label(option)
            st.caption(f"{name[0].upper() + name[1:]}: your provider runs the training on its own hardware — send it the "
                       "training split, keep the held-out rows to compare it with the prompt (the plan above).")
            continue
        try:
            r = recipe(rec.profile, option)
        except RecipeError as err:
            st.caption(f"{rec.label(option)}: no recipe — {err}")
            continue
        with st.expander(f"{'The pick' if i == 0 else 'The runner-up'}: {rec.label(option)} — configuration",
                         expanded=i == 0):
            st.dataframe(pd.DataFrame([{"setting": s.name, "value": s.shown, "source": s.source}
                                       for s in r.settings]), hide_index=True, width="stretch",
                         key=f"recipe_{option}")
            if r.prompt:
                st.code(r.prompt, language=None)
            for note in r.notes:
                st.caption(note)
            c1, c2 = st.columns(2)
            c1.download_button("Recipe (YAML)", r.to_yaml(), f"recipe_{option}.yaml", "text/yaml",
                               key=f"recipe_yaml_{option}")
            if option != "prompt_engineering":
                try:
                    script = to_script(r, f"tune_{option}.py")
                except RecipeError as err:
                    # A generation task has no classifier script: said, as the CLI says it (the page stopped here
                    # for every generation task; a review, 2026-12-05).
                    c2.caption(str(err))
                else:
                    c2.download_button("Training script (Python)", script, f"tune_{option}.py", "text/x-python",
                                       key=f"recipe_py_{option}")


def evidence_page() -> None:
    st.header("Benchmark evidence")
    runs = results()
    served = served_path()
    cal = load_served() if served is not None else None
    if cal is not None:
        # What answers cite is the served calibration; this page browses the live store, which may hold newer runs.
        st.caption(f"Answers cite the served calibration **{served.parent.name}** ({cal.n_runs} runs); this page "
                   f"shows all {len(runs)} successful runs in {results_dir()}, newer ones included.")
    flagged = cached_flagged(str(results_dir()), _store_stamp(results_dir()))
    if flagged:
        with st.expander("Files in the store that no reader uses (invalid, an unknown backbone/task/seed, or "
                         "outside the layout)"):
            st.markdown("\n".join(f"- `{line}`" for line in flagged))
    if runs.empty:
        st.info(f"No benchmark results in {results_dir()} yet. `make grid` runs the MiniLM grid; "
                "`bench run --help` shows the options.")
        return
    # One backbone at a time (a line never joins two backbones' points) and a few tasks, one panel each, so every
    # legend entry is on screen: colour = option (one colour and label per option, as on the answer page).
    c1, c2, c3 = st.columns([1, 3, 2])
    backbones = sorted(runs.backbone.unique().tolist())
    backbone = c1.selectbox("Backbone", backbones, key="ev_backbone")
    mine = runs[runs.backbone == backbone]
    tasks = sorted(mine.task.unique().tolist())
    picked = c2.multiselect("Tasks (one panel each)", tasks, default=tasks[:4], key="ev_tasks")
    methods = [m for m in (*OPTIONS, "linear_probe") if m in set(mine.method)]
    shown = c3.multiselect("Methods", methods, default=methods, key="ev_methods",
                           format_func=lambda m: LABELS.get(m, m.replace("_", " ")))
    sub = mine[mine.task.isin(picked) & mine.method.isin(shown)]
    if sub.empty:
        st.info("Pick at least one task and one method.")
        return
    curves = learning_curves(sub).assign(option=lambda d: [LABELS.get(m, m.replace("_", " ")) for m in d.method])
    names = [LABELS.get(m, m.replace("_", " ")) for m in shown]
    colour = alt.Color("option", title="method", scale=alt.Scale(
        domain=names, range=[COLOURS.get(m, "#7f7f7f") for m in shown]), legend=alt.Legend(orient="top"))
    tip = ["task", "option", "train_size", alt.Tooltip("score", format=".3f"), "metric", "seeds",
           alt.Tooltip("train_time_s", format=",.1f")]
    base = alt.Chart(curves).encode(color=colour, tooltip=tip)
    st.altair_chart(base.mark_line(point=True).encode(
        x=alt.X("train_size", title="training examples", scale=alt.Scale(type="log")),
        y=alt.Y("score", title="test score (the task's metric)")).properties(width=260, height=200).facet(
        facet=alt.Facet("task", title=None), columns=3, title=f"{backbone}: score vs training-set size"))
    # A log axis with readable ticks (symlog showed only "0" and "300"); runs that train nothing (prompting, 0 s)
    # have no place on it and are named below the chart instead.
    timed = curves[curves.train_time_s > 0]
    st.altair_chart(alt.Chart(timed).encode(color=colour, tooltip=tip).mark_circle(size=70).encode(
        x=alt.X("train_time_s", title="train time per run (s, log scale)", scale=alt.Scale(type="log"),
                axis=alt.Axis(values=[1, 3, 10, 30, 100, 300, 1000, 3000, 10000], format="~s")),
        y=alt.Y("score", title="test score")).properties(width=260, height=200).facet(
        facet=alt.Facet("task", title=None), columns=3, title=f"{backbone}: score vs training time"))
    untimed = sorted({o for o in curves[curves.train_time_s <= 0].option})
    if untimed:
        st.caption(f"Not on the time axis (no training): {', '.join(untimed)}.")
    st.dataframe(sub[["backbone", "task", "method", "train_size", "seed", "metric", "score", "accuracy", "macro_f1",
                      "train_time_s", "trainable_params", "stored_bytes", "forgetting", "lr", "steps"]],
                 hide_index=True, width="stretch", key="evidence_table")
    folder = served.parent if served is not None else None
    for title, path, missing in (
            ("How good is the advisor? (the served calibration's own evaluation)",
             folder / "evaluation.md" if folder else None, "No calibration is served, so there is no evaluation: "
             "`advisor calibrate` or `bench refresh` writes one."),
            ("Claims audit", results_dir().parent / "calibration" / "claims.md",
             "The claims audit has not been computed yet: `advisor claims` writes it.")):
        st.subheader(title)
        if path is not None and path.exists():
            st.markdown(path.read_text(encoding="utf-8").split("\n", 1)[-1])  # drop the file's own title
        else:
            st.info(missing)


def guide_page() -> None:
    st.header("Method guide")
    for option, text in GLOSSARY.items():
        st.markdown(f"**{LABELS[option]}** — {text}")
    st.subheader("The decision table")
    st.caption("Effects from −2 (strongly against) to +2 (strongly for), multiplied by the weight.")
    # A static table wraps its text: the "why" and "source" columns are read in full, never cut at a cell's width.
    st.table(table_frame().set_index("rule"))
    t = load_table()
    st.subheader("Hard constraints")
    for c in t.constraints:
        st.markdown(f"- **{c.id}** — infeasible: {', '.join(c.infeasible)}. {c.reason} *({c.source})*")


# ---- model picker, profile files in and out, and the Compare page ----------------------------------------
CUSTOM_MODEL = "custom"


def model_picker(a: dict[str, Any]) -> None:
    """The "Model" box: a catalog name fills model_params_b (and the shape the costs use); "custom" keeps the
    number input for any other model."""
    names = model_choices()
    if not names:  # an unreadable catalog leaves the plain number input, which always works
        return
    options = [CUSTOM_MODEL, *names]
    current = a.get("model") if a.get("model") in names else CUSTOM_MODEL
    st.selectbox("Model", options, index=options.index(current), key="w_model", on_change=_model_picked,
                 help=HELP["model"],
                 format_func=lambda n: "custom (type the size below)" if n == CUSTOM_MODEL
                 else f"{n} — {get_model(n).params_b:g}B")


def _model_picked() -> None:
    """on_change of the Model box (runs before the rerun): store the model and its size in the answers."""
    name, a = st.session_state["w_model"], st.session_state["answers"]
    if name == CUSTOM_MODEL:
        a["model"] = None  # the size stays as it was, now editable
    else:
        a["model"], a["model_params_b"] = name, get_model(name).params_b


def read_uploaded_profile(uploaded: Any) -> tuple[ProjectProfile | None, list[str]]:
    """Validate an uploaded .yaml/.yml/.json profile: (profile, []) or (None, one message per bad field)."""
    data = uploaded.getvalue()
    if len(data) > MAX_PROFILE_BYTES:
        return None, [f"**profile** — the file has {len(data):,} bytes; allowed: at most {MAX_PROFILE_BYTES:,}."]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, [f"**profile** — not UTF-8 text (undecodable byte at offset {err.start})."]
    try:
        loader = ProjectProfile.from_json if uploaded.name.lower().endswith(".json") else ProjectProfile.from_yaml
        return loader(text), []
    except ProfileError as err:
        # Field names are cut at 60 characters: an unknown key in a file may be any length.
        return None, [f"**{QUESTIONS.get(p.field, str(p.field)[:60])}** (`{str(p.field)[:60]}`) — got "
                      f"{short(p.value)}; allowed: {p.allowed}." for p in err.problems[:10]]


def profile_io() -> None:
    """Load a saved profile into the wizard, or download the current answers as YAML."""
    with st.expander("Load or save a profile (YAML/JSON)"):
        uploaded = st.file_uploader("Load a saved profile to fill in the answers", type=["yaml", "yml", "json"],
                                    key="profile_upload")
        if uploaded is not None and st.session_state.get("profile_upload_id") != uploaded.file_id:
            # Applied once per file: the uploader keeps the file across reruns, and re-applying it on each
            # rerun would undo every answer changed after the upload.
            st.session_state["profile_upload_id"] = uploaded.file_id
            profile, problems = read_uploaded_profile(uploaded)
            st.session_state["profile_upload_errors"] = problems
            if profile is not None:
                st.session_state["answers"] = profile.to_dict()
                st.session_state["step"], st.session_state["errors"] = 0, {}
                # New widgets show the loaded answers (see widget_key); the Model box sits on another step than
                # the first and is re-created from the answers when that step is shown.
                st.session_state["widget_generation"] = st.session_state.get("widget_generation", 0) + 1
                st.session_state["profile_upload_loaded"] = uploaded.name
        if uploaded is not None:
            for line in st.session_state.get("profile_upload_errors", []):
                st.error(line)
            if not st.session_state.get("profile_upload_errors"):
                st.success(f"Loaded {st.session_state.get('profile_upload_loaded', uploaded.name)}: the answers "
                           "below are filled in from it — check them and continue.")
        try:
            current = ProjectProfile.from_dict(answers())
        except ProfileError:
            st.caption("Fix the answers marked in red to download them as a profile.")
        else:
            st.download_button("Download these answers (YAML)", current.to_yaml(), "profile.yaml",
                               "application/yaml", key="profile_download")
            st.caption("It holds the answers saved so far: on a questions page, press “Save answers (stay here)” "
                       "(or Next) to include that page's changes.")


def _scenario(col: Any, tag: str, default_current: bool) -> tuple[ProjectProfile | None, str]:
    """One side of the comparison: the wizard's current answers or an uploaded profile."""
    col.subheader(f"Scenario {tag}")
    choice = col.radio(f"Scenario {tag} is", ["my current answers", "an uploaded profile"],
                       index=0 if default_current else 1, key=f"cmp_source_{tag}", horizontal=True)
    if choice == "my current answers":
        try:
            return ProjectProfile.from_dict(answers()), "your current answers"
        except ProfileError as err:
            col.error("Your current answers are not valid yet: " + "; ".join(
                f"{p.field} — allowed: {p.allowed}" for p in err.problems[:5]) + ". Fix them on the Advisor page.")
            return None, ""
    uploaded = col.file_uploader(f"Profile for scenario {tag}", type=["yaml", "yml", "json"], key=f"cmp_file_{tag}")
    if uploaded is None:
        col.info("Upload a .yaml, .yml or .json profile (the Advisor page saves one).")
        return None, ""
    profile, problems = read_uploaded_profile(uploaded)
    for line in problems:
        col.error(line)
    return profile, uploaded.name


def compare_page() -> None:
    st.header("Compare two scenarios")
    st.caption("Two profiles side by side — e.g. your answers now vs a bigger model, more labels or another GPU: "
               "each option's rank, expected accuracy and cost under both.")
    left, right = st.columns(2)
    a, name_a = _scenario(left, "A", default_current=True)
    b, name_b = _scenario(right, "B", default_current=False)
    if a is None or b is None:
        return
    with st.spinner("Computing both answers…"):
        result = compare(a, b, (name_a, name_b))
    left.success(f"**A ({name_a}):** {result['a']['summary']}")
    right.success(f"**B ({name_b}):** {result['b']['summary']}")
    top_a, top_b = result["a"]["best_label"], result["b"]["best_label"]
    if result["same_best"] and top_a == top_b:
        st.markdown(f"**Top pick: {top_a} in both scenarios.**")
    elif result["same_best"]:  # one option, named per answer (a provider's fine-tuning API is its full fine-tuning)
        st.markdown(f"**Top pick: the same option — A → {top_a}; B → {top_b}.**")
    else:
        st.markdown(f"**Top pick differs: A → {top_a}; B → {top_b}.**")
    if result["differences"]:
        st.markdown("**What differs:** " + "; ".join(f"`{d['field']}` {shown(d['a'])} → {shown(d['b'])}"
                                                    for d in result["differences"]))
    else:
        st.info("The two profiles are identical.")
    st.dataframe(pd.DataFrame(table_rows(result)), hide_index=True, width="stretch", key="compare_table")
    for row in result["options"]:
        for tag in ("a", "b"):
            if not row[tag]["feasible"]:
                st.caption(f"{tag.upper()} — {row['label']} not feasible: {row[tag]['why_not_feasible']}")
    st.download_button("Download the comparison (JSON)", json.dumps(result, indent=2), "comparison.json",
                       "application/json", key="compare_download")


PAGES = {"Advisor": wizard, "Compare": compare_page, "Evidence": evidence_page, "Method guide": guide_page}

st.title("tuning-advisor")
st.caption("Prompt engineering, prompt tuning, prefix tuning, LoRA or full fine-tuning? Answer a few questions.")
answers()
page = st.sidebar.radio("Page", list(PAGES), key="page")
PAGES[page]()
