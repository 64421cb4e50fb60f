"""The defaults config/settings.py gives each environment variable, read with
`ast` (never by importing the settings, which would read this process's
environment), so the docs checks can compare what the docs quote.
"""

import ast
import operator
from dataclasses import dataclass
from pathlib import Path

OPERATORS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


@dataclass(frozen=True)
class EnvSetting:
    env: str  # the variable's name
    setting: str  # the settings name it is assigned to
    # Each value the default can take, as text; None when it is not a literal
    # (a path under VAR_DIR, a URL built from it): nothing to compare with.
    defaults: frozenset[str] | None


def _literal(node: ast.expr) -> object:
    """Return the value of a constant expression, or raise ValueError."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_literal(node.left), _literal(node.right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"str", "int", "float"}
        and len(node.args) == 1
    ):
        return _literal(node.args[0])
    raise ValueError(ast.dump(node))


def _values(node: ast.expr) -> frozenset[str] | None:
    """Return the texts a default expression can give (both arms of an `if`)."""
    if isinstance(node, ast.IfExp):
        body, orelse = _values(node.body), _values(node.orelse)
        return None if body is None or orelse is None else body | orelse
    try:
        return frozenset({str(_literal(node))})
    except ValueError:
        return None


def _env_name(call: ast.Call) -> str | None:
    """Return NAME for `os.environ.get("NAME", ...)` and `env_flag("NAME", ...)`."""
    func = call.func
    is_get = (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "environ"
    )
    is_flag = isinstance(func, ast.Name) and func.id == "env_flag"
    if (is_get or is_flag) and call.args and isinstance(call.args[0], ast.Constant):
        return call.args[0].value
    return None


def _default(call: ast.Call, value: ast.expr) -> frozenset[str] | None:
    if isinstance(call.func, ast.Name):
        return None  # env_flag: on/off, which the docs say in words
    if len(call.args) > 1:
        return _values(call.args[1])
    # `os.environ.get("NAME") or <default>`
    for node in ast.walk(value):
        if (
            isinstance(node, ast.BoolOp)
            and isinstance(node.op, ast.Or)
            and any(inner is call for inner in ast.walk(node.values[0]))
        ):
            found: frozenset[str] = frozenset()
            for alternative in node.values[1:]:
                values = _values(alternative)
                if values is None:
                    return None
                found |= values
            return found
    return None  # `os.environ.get("X") == "1"`: unset means off, in words


def _assignments(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if targets:
                yield targets[0], node.value
        elif (
            isinstance(node, ast.AnnAssign | ast.NamedExpr)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            yield node.target.id, node.value


def env_settings(settings_file: Path) -> dict[str, EnvSetting]:
    """Return each environment variable that `settings_file` reads, by name."""
    tree = ast.parse(settings_file.read_text(encoding="utf-8"))
    found: dict[str, EnvSetting] = {}
    for setting, value in _assignments(tree):
        for node in ast.walk(value):
            if isinstance(node, ast.Call) and (env := _env_name(node)):
                found.setdefault(env, EnvSetting(env, setting, _default(node, value)))
    return found


def same_value(quoted: str, defaults: frozenset[str]) -> bool:
    """Say whether the docs' `quoted` text is one of `defaults`; numbers compare
    as numbers (`30` is `30.0`, `1,000` is `1000`)."""
    if quoted in defaults:
        return True
    try:
        number = float(quoted.replace(",", "").replace("_", ""))
    except ValueError:
        return False
    for default in defaults:
        try:
            if float(default) == number:
                return True
        except ValueError:
            continue
    return False
