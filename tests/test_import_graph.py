"""The import graph of g2r_lens (module-level imports, read from the source) has no cycle, and the
engine at the package root imports nothing from the layers around it (rl, world, explorer, render, cli)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "g2r_lens"
OUTER = ("g2r_lens.rl", "g2r_lens.world", "g2r_lens.explorer", "g2r_lens.render", "g2r_lens.cli",
         "g2r_lens.integrations")


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of g2r_lens imported at module level (not inside functions or ``if TYPE_CHECKING``)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()

    def visit(stmts):
        for node in stmts:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body + node.orelse + [s for h in getattr(node, "handlers", []) for s in h.body]
                      + getattr(node, "finalbody", []))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                mod = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {n: _top_level_imports(n, p, set(mods)) for n, p in mods.items()}


def test_no_import_cycle():
    graph = _graph()
    assert len(graph) > 30 and "g2r_lens.core" in graph["g2r_lens.rl.scoring"]  # the reader works
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    cycles = []

    def dfs(n, stack):
        colour[n] = GREY
        for m in sorted(graph[n]):
            if colour[m] == GREY:
                cycles.append(stack[stack.index(m):] + [m])
            elif colour[m] == WHITE:
                dfs(m, stack + [m])
        colour[n] = BLACK

    for n in sorted(graph):
        if colour[n] == WHITE:
            dfs(n, [n])
    # a package importing its own submodules (``from . import x`` in __init__) is not a cycle
    real = [c for c in cycles if not all(a.startswith(c[0] + ".") or a == c[0] for a in c[1:])]
    assert not real, "import cycles: " + "; ".join(" -> ".join(c) for c in real)


def test_engine_does_not_import_the_outer_layers():
    graph = _graph()
    engine = [n for n in graph if n.startswith("g2r_lens.attribution") or n == "g2r_lens"
              or (n.count(".") == 1 and not n.startswith(OUTER))]
    bad = {n: sorted(m for m in graph[n] if m.startswith(OUTER)) for n in engine}
    assert not {n: v for n, v in bad.items() if v}
