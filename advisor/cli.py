"""`advisor` command line: recommend, estimate, compare, models, table.

Invalid input exits with code 2 and one line naming the field; never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from advisor.costs import (GB, about_duration, dollars_range, estimate_all, format_dollars, format_params,
                           gpu_hour_price, human_duration, pilot_duration, prompt_cost_sentence, throughput_source,
                           time_warnings, totals)
from advisor.models import CatalogError, get_model, load_catalog
from advisor.options import OPTIONS, factor_words
from advisor.profile import HELP, ProfileError, ProjectProfile, compute_for_gpu, field_names
from advisor.recommend import LABELS, Recommendation, format_accuracy, recommend
from advisor.report import CHANCE_NOTE, basis_lines, below_chance_note, chance_text, format_bytes, gap_line, tie_sentence
from advisor.table import TableError, load_table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Should you prompt-engineer, prompt-tune, prefix-tune, LoRA-tune or fully fine-tune?")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _profile(profile_file: Optional[Path], overrides: dict[str, Any]) -> ProjectProfile:
    """Profile file (if any) with command-line overrides on top, validated as one."""
    base: dict[str, Any] = {}
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        if profile_file is not None:
            base = ProjectProfile.load(profile_file).to_dict()
            # A flag replaces the file's whole model description: --model drops the file's size (the named
            # model brings its own) and --model-params-b drops the file's model name (now a custom size).
            # Both flags together are validated as given, so contradicting ones are reported.
            if "model" in given and "model_params_b" not in given:
                base.pop("model_params_b", None)
            if "model_params_b" in given and "model" not in given:
                base.pop("model", None)
            # A compute level the file's GPU implied (none written, or the one its GPU sets) follows a GPU given as a
            # flag: --gpu-memory-gb 80 over a 24 GB file kept "low" and priced an RTX 4090 at 40 TFLOP/s (a review).
            if ({"gpu_memory_gb", "num_gpus"} & set(given) and "compute" not in given
                    and base.get("gpu_memory_gb") is not None
                    and base.get("compute") == compute_for_gpu(base["gpu_memory_gb"], base.get("num_gpus"))):
                base.pop("compute", None)
        base.update(given)
        return ProjectProfile.from_dict(base)
    except ProfileError as err:
        _fail(str(err))
    raise AssertionError("unreachable")


# Every field as a string option: the profile does the typing, so errors read the same
# everywhere ("labeled_examples='abc' (allowed: integer 0..1000000000)").
def _opt(name: str) -> Any:
    return typer.Option(None, "--" + name.replace("_", "-"), help=HELP[name], show_default=False)


def profile_flags(fields: tuple[str, ...] | None = None):
    """Give a command one `--<field>` option per profile field (all of them, or `fields`), collected into its
    `flags` argument: the same flags, with the same help, on every command that takes a profile."""
    import functools
    import inspect

    names = tuple(fields or field_names())

    def wrap(func):
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.name != "flags"]
        extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=_opt(n), annotation=Optional[str])
                 for n in names]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            return func(**{k: v for k, v in kwargs.items() if k not in names},
                        flags={n: kwargs[n] for n in names})

        command.__signature__ = sig.replace(parameters=own + extra)
        command.__annotations__ = {k: v for k, v in func.__annotations__.items() if k != "flags"}
        return command

    return wrap


def model_line(name: str) -> str:
    """Which catalog entry the costs used, so a named model's shape is visible (not only its size)."""
    m = get_model(name)
    return f"(model {m.name}: {format_params(m.params_b)} parameters, {m.shape_text()} — advisor models)"


def _prompt_cost_line(rec: Recommendation) -> list[str]:
    """Prompt engineering's extra input tokens priced per 1,000 requests (self-hosted or through a provider)."""
    sentence = prompt_cost_sentence(rec.profile, {r.option: r.cost for r in rec.ranking})
    return [f"  {sentence}"] if sentence else []


def render(rec: Recommendation) -> str:
    """Human-readable ranked table with the top reasons."""
    lines = [rec.summary(), f"(decision table {rec.table_version}; {rec.mode})"]
    if rec.profile.model:
        lines.append(model_line(rec.profile.model))
    lines.append("")
    calibrated = any(r.expected_accuracy for r in rec.ranking)
    # The chance each option is at least as accurate as the pick (report.chance_text; explained under the table).
    chances = bool((rec.extra.get("decision") or {}).get("chance_vs_pick"))
    own_weights = rec.profile.model_access == "weights"
    # Under a budget, the examples each option's figures are for (report.ranking_rows' "examples trained on").
    budgeted = rec.profile.budget_gpu_hours is not None and own_weights
    lines.append(f"{'#':<3}{'option':<20}{'score':>6}  {'feasible':<9}"
                 + (f"{'expected acc [10-90%]':>23}  {'basis':<21}" if calibrated else "")
                 + (f"{'as good':>8}" if chances else "")
                 + (f"{'trains on':>10}" if budgeted else "")
                 + f"{'train time':>12}{'mem/GPU':>11}{'stored/task':>13}{'+tokens':>9}")
    for r in rec.ranking:
        c, e = r.cost, r.expected_accuracy
        acc = format_accuracy(e, "—")
        basis = (e or {}).get("provenance", {}).get("kind", "")
        # An infeasible option has no score to compare (it ranks after every feasible one); with API access the
        # provider's hardware holds the weights, so there is no training memory of yours to show.
        score = f"{r.score:>6.1f}" if r.feasible else f"{'—':>6}"
        memory = f"{c.train_memory_gb:>9.1f}GB" if own_weights else f"{'—':>11}"
        lines.append(f"{r.rank:<3}{r.option:<20}{score}  {'yes' if r.feasible else 'NO':<9}"
                     + (f"{acc:>23}  {basis:<21}" if calibrated else "")
                     + (f"{chance_text(rec, r.option) or '—':>8}" if chances else "")
                     + (f"{(format(c.examples, ',') if c.budget_examples is not None else '—'):>10}" if budgeted
                        else "")
                     + f"{(human_duration(c.train_hours) if c.train_gpu_hours and own_weights else '—'):>12}{memory}"
                     # The provider stores what it trains, and a blocked option stores nothing: "0 B" read as a
                     # measured size.
                     f"{(format_bytes(c.storage_bytes_per_task) if r.feasible and (own_weights or not c.training_tokens) else '—'):>13}"
                     f"{c.extra_inference_tokens:>9}")
    if chances:
        lines.append(f"as good: {CHANCE_NOTE}")
    below = below_chance_note(rec)
    if below:
        lines.append(below)
    if own_weights:
        lines += ["", "Memory (the cheapest standard configuration that fits, per GPU):"]
        lines += [f"  {r.option:<20}{r.cost.memory_reason}" for r in rec.ranking if r.cost.memory_reason]
        lines += [f"  ! {w}" for w in time_warnings(rec.profile, {r.option: r.cost for r in rec.ranking},
                                                     proposed=tuple(r.option for r in rec.ranking[:1] if r.feasible))]
        lines.append(f"  Training time assumes {throughput_source(rec.profile)}.")
        money = [(r, r.cost.train_dollars) for r in rec.ranking if r.feasible and r.cost.train_dollars]
        price = gpu_hour_price(rec.profile)
        if money and price:
            lines.append("  Training money per task: " + ", ".join(f"{rec.label(r.option)} {dollars_range(*d)}"
                                                                 for r, d in money) + f" ({price[2]}).")
        lines += _prompt_cost_line(rec)
    else:
        # With API access the bill is the provider's: its fine-tuning job per training token (the figure in the JSON
        # as provider_dollars) and prompting's extra input tokens per request.
        lines += ["", "Costs with your provider:"]
        lines += [f"  {rec.label(r.option)}: {r.cost.notes.removeprefix('provider fine-tuning: ')}"
                  for r in rec.ranking if r.feasible and r.cost.training_tokens]
        lines += _prompt_cost_line(rec)
    if rec.profile.num_tasks > 1:
        t = totals(rec.profile, {r.option: r.cost for r in rec.ranking})
        # Feasible options only; through an API the provider's GPUs train and serve, so its bill is all there is.
        rows = [f"  {rec.label(o):<20}" + (f"{(human_duration(v['gpu_hours']) if v['gpu_hours'] else '—'):>10} training"
                                f"{format_bytes(int(v['storage_gb'] * GB)):>12} stored"
                                f"{v['serving_memory_gb']:>10.1f} GB serving" if own_weights else "")
                + (f"  {dollars_range(*v['train_dollars'])} training" if v["train_dollars"] else "")
                + (f"  {format_dollars(v['provider_dollars'])} provider" if v["provider_dollars"] is not None else "")
                for o, v in t.items() if rec.option(o).feasible
                and (own_weights or v["provider_dollars"] is not None)]
        if rows:
            lines += ["", f"Totals for {rec.profile.num_tasks} tasks"
                          + (" (serving: one base model + N adapters/prompts, or N full copies):" if own_weights
                             else " (the provider's bill):")] + rows
    if calibrated:
        lines += ["", "Expected accuracy: " + rec.ranking[0].expected_accuracy_note,
                  f"What the numbers rest on: {rec.extra.get('basis', '')}"]
        lines += [f"  {line}" for line in basis_lines(rec)]
        if gap_line(rec):
            lines.append(gap_line(rec))
        if tie_sentence(rec):
            lines.append(tie_sentence(rec))
    for r in rec.ranking:
        lines.append("")
        lines.append(f"{rec.label(r.option)}:")
        for why in r.infeasible_reasons:
            lines.append(f"  ✗ infeasible: {why}")
        for reason in r.reasons[:3]:
            sign = "+" if reason.direction == "for" else "−"
            lines.append(f"  {sign} {factor_words(reason.factor)}: {reason.rationale} ({reason.source})")
    if rec.caveats:
        lines += ["", "Caveats:"] + [f"  ! {c}" for c in rec.caveats]
    if rec.hybrids:
        lines += ["", "Hybrids worth considering:"] + [f"  ~ {h['name']}: {h['rationale']}" for h in rec.hybrids]
    if rec.counterfactuals:
        lines += ["", "What would change the answer:"] + [f"  → {c}" for c in rec.counterfactuals]
    return "\n".join(lines)


@app.command("recommend")
@profile_flags()
def recommend_cmd(
    profile: Optional[Path] = typer.Option(None, "--profile", help="A profile file (.json or .yaml); flags override it."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print Recommendation.to_dict() as JSON."),
    flags: dict[str, Optional[str]] = None,
) -> None:
    """Rank the five options for a project and explain why."""
    p = _profile(profile, flags)
    try:
        rec = recommend(p)
    except TableError as err:
        _fail(str(err))
    typer.echo(json.dumps(rec.to_dict(), indent=2, ensure_ascii=False) if as_json else render(rec))


@app.command("recipe")
@profile_flags()
def recipe_cmd(
    profile: Optional[Path] = typer.Option(None, "--profile", help="A profile file (.json or .yaml); flags override it."),
    option: Optional[str] = typer.Option(None, "--option", help="One option (default: the pick and the runner-up)."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the recipes as JSON."),
    script: Optional[Path] = typer.Option(None, "--script", help="Write a runnable transformers + peft training "
                                                                 "script for the (first) trained option here."),
    flags: dict[str, Optional[str]] = None,
) -> None:
    """The configuration to run for the pick (and the runner-up): every value with its source."""
    from advisor.options import UnknownOption
    from advisor.recipe import RecipeError, recipe, to_script

    p = _profile(profile, flags)
    rec = recommend(p, with_counterfactuals=False)
    if option is not None:
        names = [option]
        if p.model_access != "weights" and option in OPTIONS:
            # Without the weights only what the access level lets the user run has a recipe (a review: `--option
            # lora --model-access api_only` was a traceback).
            allowed = [r.option for r in rec.ranking if r.feasible]
            if option not in allowed:
                _fail(f"option={option!r} cannot run with model_access={p.model_access} here (allowed: "
                      f"{', '.join(allowed) or 'none'})")
    else:
        names = [r.option for r in rec.ranking if r.feasible][:2] or [rec.best]
    try:
        recipes = [recipe(p, o) for o in names]
    except (RecipeError, UnknownOption) as err:
        _fail(str(err))
    # What the answer rules out (memory, the data minimums, a budget), said with the recipe a user asked for by name:
    # a review (2026-12-05) got a full fine-tuning script for 48.4 GB on a 24 GB GPU, and a LoRA recipe for 5
    # examples, with no word that the answer had ruled either out.
    ruled_out = {r.option: [x.split(" [")[0] for x in r.infeasible_reasons] for r in rec.ranking if not r.feasible}
    if script is not None:
        trained = [r for r in recipes if r.option != "prompt_engineering"]
        if not trained:
            _fail(f"--script: {', '.join(names)} has no training script (allowed with --option: prompt_tuning, "
                  "prefix_tuning, lora, full_finetuning)")
        if trained[0].option in ruled_out:
            runnable = [r.option for r in rec.ranking if r.feasible and r.option != "prompt_engineering"]
            _fail(f"--script: option={trained[0].option!r} is ruled out here: "
                  f"{ruled_out[trained[0].option][0]} (allowed: {', '.join(runnable) or 'none'})")
        try:
            script.write_text(to_script(trained[0], script.name), encoding="utf-8")
        except (OSError, RecipeError) as err:
            _fail(f"--script={str(script)[:80]!r}: {err.strerror}" if isinstance(err, OSError) else str(err))
    if as_json:
        from advisor.recipe import plan

        steps = [s.to_dict() for s in plan(rec)] if option is None else []
        typer.echo(json.dumps({"recipes": [{**r.to_dict(), "ruled_out": ruled_out.get(r.option, [])}
                                           for r in recipes], "plan": steps}, indent=2, ensure_ascii=False))
        return
    for r in recipes:
        if r.option != "prompt_engineering" and p.model_access != "weights":
            # The provider trains on its own hardware: no transformers recipe for weights the user does not hold
            # (the app says the same).
            name = rec.label(r.option)
            typer.echo(f"{name[0].upper() + name[1:]}: your provider runs the training on its own hardware — send it the "
                       "training split, keep the held-out rows to compare it with the prompt (the plan below).\n")
            continue
        typer.echo(f"{LABELS[r.option]} ({r.family} model family):")
        for reason in ruled_out.get(r.option, []):
            typer.echo(f"  ! ruled out by the answer: {reason}")
        for s in r.settings:
            typer.echo(f"  {s.name}: {s.shown}    [{s.source}]")
        if r.peft:
            typer.echo(f"  peft.{r.peft['class']}({', '.join(f'{k}={v!r}' for k, v in r.peft['kwargs'].items())})")
        if r.prompt:
            typer.echo("  prompt:\n" + "\n".join("    " + line for line in r.prompt.splitlines()))
        for note in r.notes:
            typer.echo(f"  note: {note}")
        typer.echo("")
    if option is None:
        from advisor.recipe import plan

        typer.echo("The plan:")
        for i, step in enumerate(plan(rec), 1):
            typer.echo(f"  {i}. {step.title}\n     run: {step.command}\n     cost: {step.cost}\n     then: "
                       f"{step.proceed_if}")
    if script is not None:
        typer.echo(f"wrote {script}: python {script.name} --model MODEL --csv data.csv --text-column text "
                   "--label-column label")


@app.command("pilot")
# --model is the pilot's own option (the model to measure); a catalog name there also sets the profile's model.
@profile_flags(tuple(f for f in field_names() if f != "model"))
def pilot_cmd(
    data: Path = typer.Option(..., "--data", help="Your labeled CSV (UTF-8, a header row; read, never modified)."),
    text: str = typer.Option(..., "--text", help="The column holding the text."),
    label: str = typer.Option(..., "--label", help="The column holding the label."),
    quick: bool = typer.Option(False, "--quick", help="Also one short LoRA run on your data (a few minutes on a CPU "
                                                      "for MiniLM; with --model, on your model)."),
    model: Optional[str] = typer.Option(None, "--model", help="Your own model: a local Hugging Face folder, "
                                        "smollm2-135m, minilm, or a catalog model already in the Hugging Face cache. "
                                        "Its prompting is measured on your rows and fills prompt_accuracy."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda (where the measuring runs)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads for the measuring subprocess."),
    profile: Optional[Path] = typer.Option(None, "--profile", help="A profile file (.json or .yaml); flags override it."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the measurements and the recommendation as JSON."),
    flags: dict[str, Optional[str]] = None,
) -> None:
    """Measure on your own CSV, fill the measurements into the profile, and recommend.

    Always: zero-shot and linear-probe accuracy with the MiniLM encoder (the backbone the calibration's anchors were
    measured with). With --model: your model's prompting (zero-shot and with demonstrations) on the same held-out
    rows, which replaces the predicted prompt-engineering accuracy; the model is refused before loading when it
    does not fit --gpu-memory-gb (or this machine's free memory). --labeled-examples overrides the file's row count
    (when the file is a sample of more labels); num_classes always comes from the file. Stages and their estimated
    times go to stderr.
    """
    from advisor.pilot import PilotError, run_pilot, validate_csv

    base = _profile(profile, flags)  # bad flags fail here, before minutes of measuring
    if threads is not None and threads < 1:
        _fail(f"--threads={threads} (allowed: >= 1)")
    try:
        checked = validate_csv(data, text, label)
        say = (lambda line: None) if as_json else (lambda line: typer.echo(line, err=True))
        result = run_pilot(data, text, label, quick=quick, progress=say, threads=threads, data=checked, model=model,
                           device=device, memory_gb=base.gpu_memory_gb,
                           on_stage=lambda i, n, st: typer.echo(stage_line(i, n, st), err=True))
    except PilotError as err:
        _fail(str(err))
    filled = result.profile_values()
    if flags["labeled_examples"] is not None:
        filled.pop("labeled_examples")  # the user's own count wins: the file may be a sample
    p = _profile(None, {**base.to_dict(), **filled})
    bare = _profile(None, {**p.to_dict(), "zero_shot_accuracy": None, "probe_accuracy": None,
                           "prompt_accuracy": None, "prompt_accuracy_n": None})
    try:
        rec = recommend(p, measured_on=result.measured_on())
        before = recommend(bare, with_counterfactuals=False)
    except TableError as err:
        _fail(str(err))
    report = pilot_report(result, rec, before)
    report["filled"] = filled
    if as_json:
        typer.echo(json.dumps({"pilot": result.to_dict(), "comparison": report, "profile": p.to_dict(),
                               "recommendation": rec.to_dict()}, indent=2, ensure_ascii=False, default=str))
        return
    typer.echo(render_pilot(result, report, data.name))
    typer.echo("")
    typer.echo(render(rec))


def stage_line(i: int, n: int, st: Any) -> str:
    """A pilot stage as the CLI shows it: '[2/3] prompting with X — about 1 min (basis)' when it starts,
    '[2/3] done in 71 s (estimated about 1 min)' when it ends."""
    est = about_duration(st.estimate_s) if st.estimate_s else "no estimate"
    if st.seconds is None:
        return f"[{i}/{n}] {st.name} — {est}" + (f" ({st.basis})" if st.basis else "")
    return f"[{i}/{n}] done in {st.seconds:,.0f} s ({est} estimated)"


def pilot_report(result: Any, rec: Recommendation, before: Recommendation) -> dict[str, Any]:
    """What the measurements changed: each option's 10-90% interval width without and with them, and for --quick
    the measured LoRA accuracy beside the advisor's predictions (for the pilot's own setting — MiniLM at the
    pilot's training size — and for your profile)."""
    def width(r: Recommendation, o: str) -> float | None:
        e = r.option(o).expected_accuracy
        return None if not e else round(e["high"] - e["low"], 4)

    out: dict[str, Any] = {"interval_width": {o: {"without": width(before, o), "with": width(rec, o)}
                                              for o in LABELS}}
    if result.lora_accuracy is not None:
        mine = rec.option("lora").expected_accuracy
        setting = _pilot_setting_prediction(result, rec.profile)
        out["lora"] = {"measured": round(result.lora_accuracy, 4), "settings": result.lora,
                       "predicted_for_pilot_setting": setting,
                       "predicted_for_your_profile": None if not mine else
                       {k: mine[k] for k in ("point", "low", "high")}}
    return out


def _pilot_setting_prediction(result: Any, profile: ProjectProfile) -> dict[str, float] | None:
    """The advisor's LoRA prediction for what the pilot ran: the MiniLM backbone at the LoRA run's training size.

    From the zero-shot anchor only: the probe was measured at another training size (the probe's n), and the
    probe model reads its anchor as measured at `labeled_examples`."""
    from advisor.artifact import load_served

    cal = load_served()
    if cal is None or (result.model is None and result.backbone not in cal.backbones):
        return None
    size = (dict(model=result.model_catalog, model_params_b=_catalog_size(result.model_catalog)) if result.model_catalog
            else dict(model=None, model_params_b=result.model_params / 1e9) if result.model_params
            else dict(model=None, model_params_b=cal.backbones[result.backbone] / 1e9))
    setting = _profile(None, {**profile.to_dict(), "labeled_examples": result.lora["train_size"], **size,
                              "probe_accuracy": None})
    e = recommend(setting, with_counterfactuals=False, calibration=cal).option("lora").expected_accuracy
    return None if not e else {k: e[k] for k in ("point", "low", "high")}


def _catalog_size(name: str) -> float:
    return get_model(name).params_b


def render_pilot(result: Any, report: dict[str, Any], name: str) -> str:
    r = result
    lines = [f"Pilot on {name}: {r.n_rows:,} rows, {r.num_classes} classes, measured in {r.seconds:.0f} s",
             f"  zero-shot accuracy:     {r.zero_shot_accuracy:.3f}  (label names as class descriptions; "
             f"{r.n_test:,} held-out rows)",
             f"  linear-probe accuracy:  {r.probe_accuracy:.3f}  (trained on {r.n_train:,} rows, {r.n_val} for "
             f"validation, same {r.n_test:,} held-out rows)"]
    if r.prompt_accuracy is not None:
        few = (f", with {r.prompt_shots} demonstrations {r.prompt_few_shot_accuracy:.3f}"
               if r.prompt_few_shot_accuracy is not None else "")
        lines.append(f"  prompting, your model:  {r.prompt_accuracy:.3f}  ({r.model}, {r.model_params / 1e9:.3g}B "
                     f"parameters; zero-shot {r.prompt_zero_shot_accuracy:.3f}{few}; the validation split chose "
                     f"{(r.prompt_variant or 'zero_shot').replace('_', '-')}; {r.prompt_n:,} held-out rows)")
    lora = report.get("lora")
    if lora:
        s = lora["settings"]
        pred = lora["predicted_for_pilot_setting"]
        mine = lora["predicted_for_your_profile"]
        lines.append(f"  LoRA, quick pilot:      {lora['measured']:.3f}  ({s['steps']} optimizer steps; budget capped at {s['max_steps']} "
                     f"instead of the protocol's 100-320; lr {s['lr']}; {s['seconds']:.0f} s)")
        lines.append(f"    advisor's prediction for this run ({r.model or 'MiniLM'}, n=" + f"{s['train_size']:,}): "
                     + (f"{pred['point']:.3f} [{pred['low']:.2f}-{pred['high']:.2f}]" if pred else
                        "none (rules-only: no calibration served)")
                     + "; for your profile: "
                     + (f"{mine['point']:.3f} [{mine['low']:.2f}-{mine['high']:.2f}]" if mine else "none"))
    lines.append(f"  Zero-shot and probe measured with the {r.backbone} encoder (all-MiniLM-L6-v2, the backbone the "
                 "calibration's anchors were measured with), not your model"
                 + (f"; prompting measured with your model {r.model}." if r.prompt_accuracy is not None else
                    " (add --model PATH to measure your model's prompting)."))
    for st in r.stages:
        lines.append(f"  stage: {st['name']}: {st['seconds']:,.0f} s"
                     + (f" (estimated {pilot_duration(st['estimate_s'])})" if st.get("estimate_s") else ""))
    lines += [f"  note: {n}" for n in r.notes]
    widths = [(o, w["without"], w["with"]) for o, w in report["interval_width"].items() if w["without"] and w["with"]]
    if widths:
        lines.append("  10-90% interval width without -> with your measurements: "
                     + ", ".join(f"{LABELS[o]} {a:.2f} -> {b:.2f}" for o, a, b in widths))
    filled = report.get("filled", r.profile_values())
    lines.append("  Filled into the profile: " + ", ".join(f"{k}={v}" for k, v in filled.items())
                 + ("" if "labeled_examples" in filled else
                    f" (labeled_examples stays at your --labeled-examples; the file has {r.n_rows:,} rows)"))
    return "\n".join(lines)


@app.command("estimate")
@profile_flags()
def estimate_cmd(
    profile: Optional[Path] = typer.Option(None, "--profile", help="A profile file (.json or .yaml)."),
    as_json: bool = typer.Option(False, "--json", metavar=""),
    flags: dict[str, Optional[str]] = None,
) -> None:
    """Cost estimates only: FLOPs, GPU-hours, memory, storage, extra inference tokens."""
    from advisor.costs import example_tokens, training_rows, validation_examples
    from advisor.rules import score_options

    p = _profile(profile, flags)
    costs = estimate_all(p)
    # The decision table's verdicts beside the costs: an option the access level (or the data) rules out is said to
    # be, not priced as if it could run (a review: QLoRA memory for an api_only profile; three options billed as
    # provider fine-tuning that `recommend` marks NO).
    try:
        table = load_table()
    except TableError as err:
        _fail(str(err))
    verdicts = score_options(p, table, costs)
    if as_json:
        typer.echo(json.dumps({o: {**c.to_dict(), "feasible": verdicts[o].feasible,
                                   "infeasible_reasons": list(verdicts[o].infeasible_reasons)}
                               for o, c in costs.items()}, indent=2))
        return
    named = f"{p.model}, " if p.model else ""
    held = validation_examples(p.labeled_examples, p.num_classes) if p.labeled_examples else 0
    typer.echo(f"model {named}{p.params_b:g}B params{'' if p.size_known else ' (assumed: size unknown)'}, "
               f"{p.labeled_examples:,} examples"
               + (f" ({training_rows(p):,} to train on, {held:,} held out to validate)" if p.model_access != "api_only"
                  else "")
               + f" x {example_tokens(p):,} tokens (input + answer"
               + (f"; trained on the first {get_model(p.model).context:,}, {p.model}'s context"
                  if p.model and get_model(p.model).context < example_tokens(p) else "")
               + f"), {p.epochs} epoch"
               f"{'s' if p.epochs != 1 else ''}, compute={p.compute}, access={p.model_access}")
    typer.echo(f"{'option':<20}{'trainable':>14}{'train FLOPs':>13}{'GPU-hours':>11}{'wall time':>11}{'mem/GPU':>11}"
               f"{'stored/task':>13}{'+tokens':>9}")
    own = p.model_access == "weights"
    for o, c in costs.items():
        v = verdicts[o]
        # Memory alone is this command's own figure (shown, with why it does not fit); any other block (access,
        # data) comes first in the table's order and means there is nothing to price.
        other = len(v.infeasible_reasons) - (1 if own and not c.feasible_memory else 0)
        if other > 0:
            typer.echo(f"{o:<20}{'—':>14}{'—':>13}{'—':>11}{'—':>11}{'—':>11}{'—':>13}{'—':>9}")
            typer.echo(f"{'':<20}blocked: {v.infeasible_reasons[0] if v.infeasible_reasons else 'infeasible'}")
            continue
        memory = f"{c.train_memory_gb:>9.1f}GB" if own else f"{'—':>11}"
        typer.echo(f"{o:<20}{c.trainable_params:>14,}{c.train_flops:>13.3g}"
                   f"{(format(c.train_gpu_hours, '.3g') if c.train_gpu_hours else '—'):>11}"
                   f"{(human_duration(c.train_hours) if c.train_gpu_hours else '—'):>11}"
                   f"{memory}{format_bytes(c.storage_bytes_per_task):>13}{c.extra_inference_tokens:>9}")
        typer.echo(f"{'':<20}{c.notes}")
        if c.memory_reason and own:
            typer.echo(f"{'':<20}memory: {c.memory_reason}")
    if own:  # through an API the provider's hardware trains: no throughput of the user's to assume
        typer.echo(f"time assumes {throughput_source(p)}")
        price = gpu_hour_price(p)
        money = [(o, c.train_dollars) for o, c in costs.items() if c.train_dollars and verdicts[o].feasible]
        if price and money:  # the same figure as recommend's money line (advisor.costs.training_dollars)
            typer.echo("training money per task: " + ", ".join(f"{o} {dollars_range(*d)}" for o, d in money)
                       + f" ({price[2]})")


@app.command("models")
def models_cmd(as_json: bool = typer.Option(False, "--json", metavar="", help="Print the catalog as JSON.")) -> None:
    """The model catalog (data/models.yaml): names for --model, their size and shape, and each number's source."""
    try:
        catalog = load_catalog()
    except CatalogError as err:
        _fail(str(err))
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in catalog], indent=2, ensure_ascii=False))
        return
    typer.echo(f"{'name':<24}{'params (B)':>12}{'layers':>8}{'hidden':>8}{'context':>9}  license")
    for m in catalog:
        typer.echo(f"{m.name:<24}{m.params_b:>12g}{m.layers:>8}{m.hidden_size:>8}{m.context:>9}  {m.license or '—'}")
        typer.echo(f"{'':<24}shape: {m.source}")
        typer.echo(f"{'':<24}params: {m.params_source}")
    typer.echo("\nUse one with `advisor recommend --model NAME` (names are case-insensitive); any other model: "
               "--model-params-b.")


@app.command("compare")
def compare_cmd(
    profile_a: Path = typer.Argument(..., help="Profile A: a .json or .yaml profile file."),
    profile_b: Path = typer.Argument(..., help="Profile B: a .json or .yaml profile file."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the comparison as JSON."),
) -> None:
    """Two scenarios side by side: each option's rank, expected accuracy, GPU-hours, peak memory, storage and
    feasibility under profile A and profile B, and the top pick of each."""
    from advisor.compare import compare, to_text

    profiles = []
    for path in (profile_a, profile_b):
        try:
            profiles.append(ProjectProfile.load(path))
        except ProfileError as err:
            _fail(f"{path}: {err}")
    try:
        result = compare(profiles[0], profiles[1], (str(profile_a), str(profile_b)))
    except TableError as err:
        _fail(str(err))
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else to_text(result))


@app.command("table")
def table_cmd(as_json: bool = typer.Option(False, "--json", metavar="")) -> None:
    """Print the decision table: every rule and constraint with its source."""
    try:
        t = load_table()
    except TableError as err:
        _fail(str(err))
    if as_json:
        typer.echo(json.dumps({"version": t.version,
                               "rules": [{**r.__dict__, "when": dict(r.when), "effects": dict(r.effects)} for r in t.rules],
                               "constraints": [{**c.__dict__, "when": dict(c.when) if c.when else None} for c in t.constraints]},
                              indent=2, ensure_ascii=False))
        return
    typer.echo(f"Decision table {t.version} — effects -2..+2 per option (PE, PT, prefix, LoRA, FT), times weight")
    for r in t.rules:
        eff = " ".join(f"{v:+.0f}" for v in r.effects.values())
        typer.echo(f"{r.id:<24} w={r.weight:g}  [{eff}]  {r.rationale}")
        typer.echo(f"{'':<24} source: {r.source}")
    typer.echo("\nHard constraints:")
    for c in t.constraints:
        typer.echo(f"{c.id:<24} infeasible: {', '.join(c.infeasible)} — {c.reason}")
        typer.echo(f"{'':<24} source: {c.source}")


@app.command("evaluate")
def evaluate_cmd(
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", help="Benchmark results (default: data/results)."),
    external: Optional[Path] = typer.Option(None, "--external", help="Score the model fitted on --results-dir "
                                                                     "against the tasks of this results folder."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the metrics as JSON."),
    write: bool = typer.Option(False, "--write", help="Also write data/calibration/evaluation.md (off by default: "
                                                      "an evaluation of another folder wrote <it>/../calibration)."),
) -> None:
    """Nested leave-one-family-out evaluation (regret, within-1, MAE, coverage vs the rules and always-X baselines)
    and the size model's extrapolation (leave-one-source-out, leave-largest-model-out)."""
    from advisor import evaluate as ev
    from advisor.evidence import results_dir as default_dir
    from advisor.published import load_evidence
    from advisor.scaling import evaluate_extrapolation
    from bench.results import load, runs_view

    source = results_dir or default_dir()
    if not source.exists():
        _fail(f"--results-dir={source}: no such folder")
    df = load(source, include_failed=False)
    if df.empty:
        _fail(f"no benchmark results in {source} (run `bench run` first)")
    published = load_evidence()
    extrapolation = None
    if external is not None:
        if not external.exists():
            _fail(f"--external={external}: no such folder")
        other = load(external, include_failed=False)
        if other.empty:
            _fail(f"no results in {external}")
        result = ev.external(df, other, published)
    else:
        result = ev.leave_one_family_out(df, published)
        extrapolation = evaluate_extrapolation(runs_view(df), published) if published else None
        if write:  # issue 25: only when asked, and only into the repository's data/calibration
            from advisor.artifact import CAL_ROOT

            ev.write_markdown(result, CAL_ROOT / "evaluation.md", extrapolation, _shown(source))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "rows"} | {"cells_detail": result["rows"],
                               "extrapolation": extrapolation}, indent=2, default=str))
        return
    typer.echo(ev.to_markdown(result, extrapolation, _shown(external or source)))


@app.command("calibrate")
def calibrate_cmd(
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", help="Benchmark results (default: data/results)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write (default: data/calibration/<UTC stamp>)."),
) -> None:
    """Fit the calibration artifact (task models, size model, evidence index, its own evaluation) into a folder.

    It is served only once promoted: `bench refresh` runs the gates and moves data/calibration/SERVED."""
    import datetime as dt

    from advisor import evaluate as ev
    from advisor.calibration import write_artifact
    from advisor.evidence import results_dir as default_dir
    from advisor.published import load_evidence
    from bench.results import load

    source = results_dir or default_dir()
    df = load(source, include_failed=False) if source.exists() else None
    if df is None or df.empty:
        _fail(f"no benchmark results in {source} (run `bench run` first)")
    art = ev.fit_and_evaluate(df, load_evidence(), source=_shown(source))
    if art is None:
        _fail(f"too few runs in {source} to calibrate (>= 20 runs over >= 3 task families)")
    folder = out or source.parent / "calibration" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = write_artifact(art, folder)
    (Path(folder) / "evaluation.md").write_text(art["evaluation_markdown"], encoding="utf-8")
    summary = art["evaluation"]["advisor"]
    typer.echo(f"wrote {_shown(path)}: {art['n_runs']} runs, modes {', '.join(art['modes'])}; nested "
               f"leave-one-family-out regret {summary['regret']} points, MAE {summary['mae']}")


@app.command("claims")
def claims_cmd(
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", help="Benchmark results (default: data/results)."),
    as_json: bool = typer.Option(False, "--json", metavar=""),
    write: bool = typer.Option(True, "--write/--no-write", help="Write data/calibration/claims.md next to the results."),
) -> None:
    """The claims audit: each decision-table belief tested against the measured runs."""
    from advisor import claims
    from advisor.evidence import results_dir as default_dir
    from bench.results import load, one_protocol_per_backbone, runs_view

    source = results_dir or default_dir()
    if not source.exists():
        _fail(f"--results-dir={source}: no such folder")
    # One protocol per backbone, as the calibration reads the store (issue 21): while the v2 rerun is under way a
    # claim is judged on one protocol's runs of each backbone, never on a mix.
    df, protocols = one_protocol_per_backbone(load(source, include_failed=False))
    runs = runs_view(df)  # read and scored once, for the audit and the crossover
    results = claims.audit(runs) if not df.empty else []
    cross = claims.crossover(runs) if not df.empty else {}
    text = claims.to_markdown(results, cross, _shown(source), protocols=protocols)
    if write:
        out = source.parent / "calibration" / "claims.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if as_json:
        typer.echo(json.dumps({"claims": [r.to_dict() for r in results], "crossover": cross,
                               "counts": claims.summary_counts(results),
                               "table_changes": claims.table_changes(load_table()), "protocols": protocols}, indent=2))
        return
    typer.echo(text)


def _shown(path: Path) -> str:
    """A path as written into reports: relative to the working directory when inside it (no home paths)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
