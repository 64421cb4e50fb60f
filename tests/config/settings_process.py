"""Start Django in a fresh process with a given environment, as a deploy would.

Settings are read once per process, so what production or the demo gets can only
be seen from a new interpreter with that environment.
"""

import json
import os
import subprocess
import sys

from django.conf import settings

# Variables of the outer environment that would decide what is being tested.
_DECIDING = (
    "DEMO_MODE",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EVENT_QUEUE_TYPE",
    "TEST_DB_SUFFIX",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def process_env(var_dir, **variables: str) -> dict[str, str]:
    """This environment without the deciding variables, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if k not in _DECIDING}
    env.update(VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings")
    env.update(variables)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_in(env: dict[str, str], *names: str) -> dict:
    """Return the named settings as a process with `env` sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
