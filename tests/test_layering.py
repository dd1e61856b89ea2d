"""The layering of ``benchmark/`` (issue 24), read from the imports of every module (top-level and
inside functions alike):

- no module under ``benchmark/report/`` imports ``benchmark.run``, ``benchmark.frontier`` or
  ``benchmark.robustness`` (reports read result files through ``benchmark.results``);
- no module under ``benchmark/run/`` imports ``benchmark.report``, ``benchmark.frontier`` or
  ``benchmark.robustness`` (the runner returns what it ran; ``benchmark.commands`` renders);
- ``benchmark.results`` (the result-file contract) imports none of run, report, frontier,
  robustness;
- no import cycle among the modules of ``benchmark/run/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file; ``from pkg import name`` counts as
    ``pkg.name`` too (``name`` may be a submodule)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def package_imports(package: str) -> dict[str, set[str]]:
    folder = ROOT.joinpath(*package.split("."))
    return {module_name(p): imports(p) for p in sorted(folder.rglob("*.py"))}


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{mod} imports {imp}"
        for mod, imps in package_imports(package).items()
        for imp in imps
        if any(imp == f or imp.startswith(f + ".") for f in forbidden)
    )


def cycles(package: str) -> list[list[str]]:
    """The import cycles among the modules of ``package`` (strongly connected components of
    more than one module, or a module importing itself)."""
    graph = package_imports(package)
    edges = {m: sorted(i for i in imps if i in graph and i != package) for m, imps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan's algorithm
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in edges[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            comp = []
            while True:
                n = stack.pop()
                comp.append(n)
                if n == m:
                    break
            if len(comp) > 1 or m in edges[m]:
                found.append(sorted(comp))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    return found


def test_reports_do_not_import_the_runner_or_the_studies():
    assert (
        offending(
            "benchmark.report", ("benchmark.run", "benchmark.frontier", "benchmark.robustness")
        )
        == []
    )


def test_the_runner_imports_no_report_and_no_study():
    assert (
        offending(
            "benchmark.run", ("benchmark.report", "benchmark.frontier", "benchmark.robustness")
        )
        == []
    )


def test_the_result_contract_imports_neither_side():
    forbidden = ("benchmark.run", "benchmark.report", "benchmark.frontier", "benchmark.robustness")
    assert offending("benchmark.results", forbidden) == []


def test_no_import_cycle_inside_run():
    assert cycles("benchmark.run") == []


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """The checks see a loop and a forbidden import when there is one."""
    pkg = tmp_path / "benchmark" / "run"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from benchmark.run import b\n")
    (pkg / "b.py").write_text("import benchmark.run.a\nfrom benchmark.report.tables import x\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)  # the helpers read ROOT when called
    assert cycles("benchmark.run") == [["benchmark.run.a", "benchmark.run.b"]]
    assert "benchmark.run.b imports benchmark.report.tables" in offending(
        "benchmark.run", ("benchmark.report",)
    )
