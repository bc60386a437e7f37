"""``g2r attribute``, ``g2r methods``, ``g2r demo`` and ``g2r app``: the engine's commands.

    g2r attribute --model PATH --examples data.jsonl --methods grad_x_input,integrated_gradients --out out/
    g2r attribute --model PATH --prompt "..." --response "..." --rubric '[{"criterion": "...", "weight": 1}]'
    g2r methods
    g2r demo
    g2r app [--port 8501] [--runs-root runs/]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from ..errors import G2RError
from ..runtime import offline_env


def _parse_value(v: str) -> Any:
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def _method_params(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise G2RError(f"--param {item!r}: expected METHOD.KEY=VALUE, e.g. integrated_gradients.n_steps=16")
        key, value = item.split("=", 1)
        method, name = key.split(".", 1)
        out.setdefault(method, {})[name] = _parse_value(value)
    return out


def check_out_dir(out: Path) -> None:
    """``--out`` must be a folder (existing or creatable): refuse a file, or a file on its way."""
    for p in [out, *out.parents]:
        if p.exists():
            if not p.is_dir():
                raise G2RError(f"--out {str(out)!r}: {str(p)!r} is a file, not a folder")
            if not os.access(p, os.W_OK):
                raise G2RError(f"--out {str(out)!r}: the folder {str(p)!r} is not writable")
            return


def preflight_attribute(args: argparse.Namespace, examples: Sequence[Any], methods: Sequence[str]) -> dict:
    """Validate everything ``g2r attribute`` was given, before the model loads; returns the method
    parameters. Raises a :class:`G2RError` (one line) on the first mistake."""
    from ..attribution import get_method
    from ..params import validate_method_params, validate_run_args

    if not methods:
        raise G2RError("--methods names no method")
    method_params = _method_params(args.param)
    validate_run_args(batch_size=args.batch_size, tau=args.tau, tau_mode=args.tau_mode, seed=args.seed,
                      attribute_false=args.attribute_false, method_params=method_params)
    for name in method_params:
        if name not in methods:
            get_method(name)
            raise G2RError(f"--param for {name!r}, which is not among --methods {','.join(methods)}")
    for name in methods:
        spec = get_method(name)
        validate_method_params(None, name, spec.resolve_params(method_params.get(name)), spec.defaults)
    for ex in examples:
        try:
            ex.validate()
        except G2RError as e:
            where = f"{args.examples}: " if args.examples else ""
            raise type(e)(f"{where}{e}") from None
    check_out_dir(Path(args.out))
    model = Path(os.path.expanduser(args.model))
    if model.exists() and not model.is_dir():
        raise G2RError(f"--model {args.model!r} is a file; give the model folder")
    return method_params


def quiet_loaders() -> None:
    """No progress bars or loader chatter from transformers / huggingface_hub (``--quiet``)."""
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def write_outputs(run, out: Path, methods: Sequence[str]) -> dict[str, Path]:
    from ..render import report_html

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": run.save_json(out / "attributions.json"),
             "parquet": run.save_parquet(out / "attributions.parquet"),
             "html": out / "report.html"}
    report_html(run, paths["html"], methods)
    return paths


def print_summary(run, method: str, k: int = 3, file=None, examples=None, also: Sequence[str] = ()) -> None:
    """Per example and criterion: verdict, p(True), weight and the top-credited words of ``method``
    (and of each method in ``also``).

    With bundled-world ``examples`` (whose meta holds the exact checker's answers and truth spans),
    the checker's verdict is printed beside the judge's, and the words that make a criterion true.
    """
    file = file or sys.stdout
    meta = {e.id: e.meta for e in (examples or []) if getattr(e, "meta", None)}
    for ex in run.examples:
        checker = meta.get(ex.id, {}).get("checker")
        truth = meta.get(ex.id, {}).get("truth_spans")
        print(f"\n== {ex.id}: sparse reward {ex.sparse_reward:+.3f}", file=file)
        print(f"   response: {ex.response}", file=file)
        m = ex.methods.get(method)
        for i, c in enumerate(ex.criteria):
            chk = "" if checker is None else f" (checker: {checker[i]})"
            print(f"  [{'True ' if c.verdict else 'False'}] p={c.p_true:.3f} w={c.weight:+g}  {c.text}{chk}", file=file)
            if not c.verdict:
                continue
            for name in (method, *also):
                top = ex.top_tokens(name, i, k) if name in ex.methods else []
                if top:
                    words = ", ".join(repr(t.strip() or t) for t, _ in top)
                    print(f"        top words ({name}): {words}", file=file)
            if truth and i < len(truth) and truth[i]:
                words = ", ".join(repr(ex.response[a:b]) for a, b in truth[i])
                print(f"        truth (checker): {words}", file=file)
        if m:
            print(f"  Σ dense reward ({method}) = {m.reward_sum:+.4f}", file=file)


def cmd_attribute(args: argparse.Namespace) -> int:
    from ..core import attribute
    from ..examples import Example, load_examples
    from ..judge import Judge, JudgeTemplate

    if args.ray:  # dataset scale on Ray Data (g2r_lens.integrations.ray; needs the ray extra)
        from ..integrations.ray import run_ray_cli

        return run_ray_cli(args, _method_params(args.param))

    if args.examples:
        examples = load_examples(args.examples)
    elif args.prompt is not None and args.response is not None and args.rubric is not None:
        try:
            rubric = json.loads(args.rubric)
        except json.JSONDecodeError as e:
            raise G2RError(f"--rubric is not valid JSON: {e}") from None
        if not isinstance(rubric, list):
            raise G2RError("--rubric must be a JSON list of {criterion, weight} objects")
        examples = [Example(args.prompt, args.response, rubric, id="inline")]
    else:
        raise G2RError("give --examples FILE.jsonl, or all of --prompt, --response and --rubric")
    if args.max_examples:
        examples = examples[: args.max_examples]
    words = tuple(w.strip() for w in args.verdict_words.split(","))
    if len(words) != 2:
        raise G2RError("--verdict-words takes two comma-separated words, e.g. True,False")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    # every user mistake is found here, before any model work (g2r_lens.params: the API's checks)
    method_params = preflight_attribute(args, examples, methods)
    if args.quiet:
        quiet_loaders()
    template = JudgeTemplate(verdict_words=words)
    judge = Judge.from_pretrained(args.model, template, device=args.device, dtype=args.dtype,
                                  trust_remote_code=args.trust_remote_code, truncation=args.truncation)
    run = attribute(judge, examples, methods, method_params=method_params, tau=args.tau,
                    tau_mode=args.tau_mode, attribute_false=args.attribute_false, batch_size=args.batch_size,
                    seed=args.seed, progress=not args.quiet)
    paths = write_outputs(run, Path(args.out), methods)
    print_summary(run, methods[0])
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from ..attribution import REGISTRY

    for name in sorted(REGISTRY):
        s = REGISTRY[name]
        params = ", ".join(f"{k}={v!r}" for k, v in s.defaults.items()) or "-"
        print(f"{name:22s} [{s.family}] {s.description}\n{'':22s} params: {params}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: attribute a handful of bundled test examples with the main methods."""
    from ..core import attribute
    from ..world.bundle import have_models, load_judge, world_examples

    methods = ["grad_x_input", "integrated_gradients", "leave_one_out", "attention_last"]
    if have_models():
        judge = load_judge(args.judge)
        examples = world_examples("test", args.n, seed=args.seed)
        which = {"judge": "external judge", "self": "self-judge (a frozen copy of the policy)"}[args.judge]
        print(f"g2r demo: the bundled {which} on {len(examples)} test examples of the bundled world",
              file=sys.stderr)
    else:
        from ..testing import DEMO_EXAMPLES, tiny_judge

        print("g2r demo: no bundled checkpoints found (rebuild with `g2r world build`); using a tiny judge with "
              "random weights, so its verdicts are meaningless.", file=sys.stderr)
        judge = tiny_judge("llama", "chat", layers=2, hidden=64)
        examples = DEMO_EXAMPLES
    run = attribute(judge, examples, methods, progress=not args.quiet,
                    method_params={"integrated_gradients": {"n_steps": 32, "nodes": "baseline"}})
    paths = write_outputs(run, Path(args.out), methods)
    print_summary(run, "grad_x_input", examples=[e for e in examples if not isinstance(e, dict)],
                  also=["leave_one_out"])
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def app_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment of ``g2r app``."""
    app = Path(__file__).resolve().parents[2] / "app" / "app.py"
    if not app.exists():
        raise G2RError(f"the explorer is not at {app}; `g2r app` runs from a source checkout (pip install -e .)")
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise G2RError("the explorer needs streamlit: pip install -e '.[app]'") from None
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.host,
           "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal"]
    env = dict(os.environ, G2R_RUNS_ROOT=str(Path(args.runs_root).expanduser().resolve()))
    offline_env(env)
    return cmd, env


def cmd_app(args: argparse.Namespace) -> int:
    import subprocess

    cmd, env = app_command(args)
    print(f"g2r app: http://{args.host}:{args.port}  (runs root {env['G2R_RUNS_ROOT']}; Ctrl-C stops it)",
          file=sys.stderr)
    return subprocess.call(cmd, env=env)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``g2r attribute``, ``g2r methods``, ``g2r demo`` and ``g2r app``."""
    a = sub.add_parser("attribute", help="judge, attribute and write dense rewards for examples")
    a.add_argument("--model", required=True, help="judge model: a local folder (or a hub id where online)")
    a.add_argument("--examples", help="JSONL file: one {prompt, response, rubric:[{criterion, weight}]} per line")
    a.add_argument("--prompt")
    a.add_argument("--response")
    a.add_argument("--rubric", help='JSON list, e.g. \'[{"criterion": "Mentions X.", "weight": 1}]\'')
    a.add_argument("--methods", default="grad_x_input", help="comma-separated method names (see `g2r methods`)")
    a.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method parameter, e.g. integrated_gradients.n_steps=16 (repeatable)")
    a.add_argument("--out", default="outputs/attribute", help="output folder (JSON, parquet, HTML)")
    a.add_argument("--tau", type=float, default=1.0)
    a.add_argument("--tau-mode", choices=["relative", "absolute"], default="relative")
    a.add_argument("--attribute-false", action="store_true", help="also attribute criteria judged False")
    a.add_argument("--batch-size", type=int, default=8)
    a.add_argument("--device", default="auto")
    a.add_argument("--dtype", default="auto")
    a.add_argument("--verdict-words", default="True,False")
    a.add_argument("--truncation", choices=["error", "response"], default="error",
                   help="too-long inputs: refuse (error) or cut the response's tail (recorded)")
    a.add_argument("--max-examples", type=int, default=0)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--trust-remote-code", action="store_true")
    a.add_argument("--quiet", action="store_true")
    from ..integrations.ray import add_ray_arguments  # imports no Ray

    add_ray_arguments(a)
    a.set_defaults(fn=cmd_attribute)

    m = sub.add_parser("methods", help="list attribution methods and their parameters")
    m.set_defaults(fn=cmd_methods)

    d = sub.add_parser("demo", help="the main job on the bundled default")
    d.add_argument("--out", default="outputs/demo")
    d.add_argument("--judge", choices=["judge", "self"], default="judge", help="external judge or self-judge")
    d.add_argument("-n", type=int, default=4, help="number of bundled test examples")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(fn=cmd_demo)

    ap = sub.add_parser("app", help="open the Streamlit explorer (local only by default)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--runs-root", default="runs", help="the only folder the Runs page reads run folders from")
    ap.set_defaults(fn=cmd_app)
