"""GPU readiness that can be checked without a GPU: the code never pins tensors to CUDA behind the
back of the device it is given (``Workspace.device`` / ``--device``), and every tensor file it
reads loads on a CPU-only machine whatever device wrote it (a cache shared by GPU and CPU nodes)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p for pkg in ("quads", "baselines", "benchmark") for p in (ROOT / pkg).rglob("*.py")
)


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node


def test_no_hidden_cuda_and_every_tensor_file_loads_on_cpu():
    problems = []
    for path in SOURCES:
        for call in _calls(path):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            if call.func.attr == "cuda":
                problems.append(f"{where}: .cuda() ignores the device the run was given")
            is_torch_load = (
                call.func.attr == "load" and getattr(call.func.value, "id", "") == "torch"
            )
            if is_torch_load and "map_location" not in {k.arg for k in call.keywords}:
                problems.append(f"{where}: torch.load without map_location")
    assert len(SOURCES) > 50 and not problems, problems
