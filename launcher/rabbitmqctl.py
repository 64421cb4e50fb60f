"""The local RabbitMQ's control tool, for the tests, the e2e stacks and the bench.

Private virtual hosts keep every run's queues apart on the shared broker; the
fault runs also stop and start the broker with it. One wrapper, so each caller
gets the same quiet output, timeout and error.
"""

import contextlib
import shutil
import subprocess

# The guest account of the local broker; each vhost grants it everything.
USER = "guest"


def rabbitmqctl(
    *args: str, timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess:
    """Run `rabbitmqctl -q ARGS`; text output captured.

    With `check`, a non-zero exit raises CalledProcessError (its stderr says why);
    without it the caller reads `returncode`.
    """
    return subprocess.run(  # noqa: S603 - a fixed program, no shell
        ["rabbitmqctl", "-q", *args],  # noqa: S607 - found on PATH, as in CI
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def rabbitmqctl_available() -> bool:
    return shutil.which("rabbitmqctl") is not None


def vhost_create(name: str) -> None:
    """Create a virtual host that the guest user may use fully."""
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, USER, ".*", ".*", ".*")


def vhost_delete(name: str) -> None:
    """Delete a virtual host; a leftover one is harmless, so failures are ignored."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        rabbitmqctl("delete_vhost", name)


def queue_types(vhost: str) -> dict[str, str]:
    """{queue name: classic or quorum} of every queue in the virtual host."""
    listed = rabbitmqctl("list_queues", "-p", vhost, "name", "type").stdout
    rows = dict(line.split("\t") for line in listed.splitlines() if "\t" in line)
    rows.pop("name", None)  # the column headers, which -q leaves in
    return rows
