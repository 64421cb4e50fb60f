"""Published schemas are immutable: contracts/schemas.lock holds each file's hash.

A consumer somewhere validates against the schema it fetched last year; a
schema edited in place would make the same version mean two things. A change
is a new version, in a new file, added to the lock. The lock is in
`sha256sum` format, so `cd contracts/schemas && sha256sum -c ../schemas.lock`
checks it without Python.
"""

import hashlib
from pathlib import Path

CONTRACTS_DIR = Path(__file__).parent
SCHEMA_DIR = CONTRACTS_DIR / "schemas"
LOCK_FILE = CONTRACTS_DIR / "schemas.lock"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_read(lock_file: Path = LOCK_FILE) -> dict[str, str]:
    """Return {file name: sha256} as the lock records it."""
    locked = {}
    for line in lock_file.read_text().splitlines():
        if line.strip():
            sha, name = line.split(maxsplit=1)
            locked[name.strip()] = sha
    return locked


def lock_render(schema_dir: Path = SCHEMA_DIR) -> str:
    """The lock for the schemas as they are (to add a new file's line)."""
    return "".join(
        f"{digest(path)}  {path.name}\n" for path in sorted(schema_dir.glob("*.json"))
    )


def lock_problems(
    schema_dir: Path = SCHEMA_DIR, lock_file: Path = LOCK_FILE
) -> list[str]:
    """Say what breaks immutability: an edited, unlocked or removed schema."""
    if not lock_file.is_file():
        return [f"no lock file {lock_file.name}"]
    locked = lock_read(lock_file)
    present = {path.name: digest(path) for path in schema_dir.glob("*.json")}
    problems = []
    for name, sha in sorted(present.items()):
        if name not in locked:
            problems.append(
                f"{name} is not in {lock_file.name}: add it (a new version is "
                "a new file, and its hash is published with it)"
            )
        elif locked[name] != sha:
            problems.append(
                f"{name} changed after it was published: restore it and put "
                "the change in a new version"
            )
    problems += [
        f"{name} is in {lock_file.name} but gone: a published schema is never removed"
        for name in sorted(set(locked) - set(present))
    ]
    return problems
