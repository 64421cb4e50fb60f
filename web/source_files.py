"""Which of the repository's files the source view may show, and where a name is
defined in one, so a walkthrough's code link opens at the right line.

The list is what git tracks, read once; without git (the Docker image has none)
a walk of the tree with an allowlist stands in. Either way, only source-like
files outside dot-directories, var/ and the generated results are shown.
"""

import ast
import functools
import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

SUFFIXES = {
    ".py",
    ".md",
    ".yml",
    ".yaml",
    ".toml",
    ".txt",
    ".json",
    ".html",
    ".js",
    ".css",
    ".sh",
}
NAMES = {"Makefile", "Dockerfile"}
# Never shown, even if tracked: secrets, state and generated output live here.
REFUSED_DIRS = ("var/", "node_modules/", "test-artefacts/", "bench/results/")
MAX_BYTES = 256 * 1024  # vendored bundles are not source to read


def base_dir() -> Path:
    return Path(settings.BASE_DIR).resolve()


def _servable(name: str) -> bool:
    parts = name.split("/")
    return (
        not any(part.startswith(".") or part == "__pycache__" for part in parts)
        and not name.startswith(REFUSED_DIRS)
        and "node_modules" not in parts
        and (Path(name).suffix in SUFFIXES or parts[-1] in NAMES)
    )


def _tracked(base: Path) -> list[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        listed = subprocess.run(  # noqa: S603 - a fixed command, no user input
            [git, "ls-files", "-z"],
            cwd=base,
            capture_output=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not a checkout, or one git refuses to read
    return listed.stdout.decode("utf-8", "surrogateescape").split("\0")


def _walked(base: Path) -> list[str]:
    names = []
    for root, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        relative = Path(root).relative_to(base)
        names += [(relative / file).as_posix() for file in files]
    return names


@functools.cache
def served_files() -> frozenset[str]:
    """Return the repository-relative paths the source view may show."""
    base = base_dir()
    names = _tracked(base)
    if names is None:
        names = _walked(base)
    return frozenset(name for name in names if name and _servable(name))


def source_file(path: str) -> Path | None:
    """Return the file `path` names if the source view may show it, else None.

    Both the name asked for and the file it resolves to must be on the list, so
    neither `..` nor a symlink leads anywhere else.
    """
    served = served_files()
    if path not in served:
        return None
    base = base_dir()
    file = (base / path).resolve()
    if not file.is_relative_to(base) or file.relative_to(base).as_posix() not in served:
        return None
    if not file.is_file() or file.stat().st_size > MAX_BYTES:
        return None
    return file


def source_dir(path: str) -> list[str]:
    """Return the shown files under the directory `path`, sorted."""
    prefix = path.strip("/") + "/"
    return sorted(name for name in served_files() if name.startswith(prefix))


def _span(node: ast.stmt) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    if isinstance(node, ast.ClassDef):
        # A class's header, not its whole body: the line that says what it is.
        return first, max(node.lineno, node.body[0].lineno - 1)
    return first, node.end_lineno or node.lineno


def _names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


@functools.lru_cache(maxsize=128)
def _definitions(file: Path, mtime_ns: int) -> dict[str, tuple[int, int]]:
    try:
        tree = ast.parse(file.read_bytes())
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        for name in _names(node):
            found.setdefault(name, _span(node))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                for name in _names(member):
                    found.setdefault(f"{node.name}.{name}", _span(member))
                    found.setdefault(name, _span(member))
    return found


def symbol_lines(path: str, symbol: str) -> tuple[int, int] | None:
    """Return the first and last line defining `symbol` in the Python file `path`.

    `symbol` is a module- or class-level name (`relay_once`, `Backoff.reset`),
    optionally with its module in front (`events.relay.relay_once`).
    """
    file = source_file(path)
    if file is None or file.suffix != ".py":
        return None
    found = _definitions(file, file.stat().st_mtime_ns)
    module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    symbol = symbol.removeprefix(module + ".")
    parts = symbol.split(".")
    for candidate in (symbol, ".".join(parts[-2:]), parts[-1]):
        if candidate in found:
            return found[candidate]
    return None
