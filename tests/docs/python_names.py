"""What a Python file defines, read with `ast`, so the docs checks can tell
whether a symbol a walkthrough names is really there.
"""

import ast
import functools
from pathlib import Path


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [
            name.id
            for target in node.targets
            for name in ast.walk(target)
            if isinstance(name, ast.Name)
        ]
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(
        node.target, ast.Name
    ):
        return [node.target.id]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return []  # a name imported here is defined elsewhere
    if isinstance(node, ast.If | ast.Try | ast.With):
        # Module-level definitions under `if`/`try` (settings, optional imports).
        body = [
            *node.body,
            *getattr(node, "orelse", []),
            *getattr(node, "finalbody", []),
        ]
        for handler in getattr(node, "handlers", []):
            body += handler.body
        return [name for child in body for name in _bound(child)]
    return []


@functools.cache
def definitions(file: Path) -> frozenset[str]:
    """Return the module-level names of `file`, and `Class.member` for each class.

    Test functions are also listed as `path::name` style would name them:
    `test_x` and `TestCase::test_x` (pytest node ids use `::`).
    """
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    names: set[str] = set()
    for node in tree.body:
        names.update(_bound(node))
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                for name in _bound(member):
                    names.add(f"{node.name}.{name}")
                    names.add(f"{node.name}::{name}")
    return frozenset(names)


@functools.cache
def string_constants(file: Path) -> frozenset[str]:
    """Return every string literal in `file`: constraint, index and URL names."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def module_name(repo_path: str) -> str:
    """Return the module a path holds: `events/relay.py` is `events.relay`."""
    return repo_path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def defines(file: Path, repo_path: str, symbol: str) -> bool:
    """Say whether `symbol` (`relay_once`, `Backoff.reset`, `events.relay.relay_once`)
    is defined at module or class level in `file`, or, for names that are not
    Python names (a constraint's, an index's), written there as a string literal.
    """
    symbol = symbol.removeprefix(module_name(repo_path) + ".")
    if symbol in definitions(file):
        return True
    return "." not in symbol and symbol in string_constants(file)
