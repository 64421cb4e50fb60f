"""Where SECRET_KEY comes from, and the keys a production start refuses.

docker-compose.yml embeds a published key so the demo starts with no setup; the
same key outside demo mode would let anyone forge sessions and signed values, so
settings refuse it there (docs/operations.md#production-settings).
"""

import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Keys that are public: the compose file's demo default. Never a real secret.
PUBLISHED_KEYS = frozenset({"change-me-outside-a-demo"})


def secret_key(environ: Mapping[str, str], *, demo_mode: bool, var_dir: Path) -> str:
    """Return the key from DJANGO_SECRET_KEY, or one kept in `var_dir`.

    Outside demo mode a published or empty DJANGO_SECRET_KEY raises
    ImproperlyConfigured, so every process (gunicorn, the relay, the workers,
    manage.py) refuses to start instead of running with a known key.
    """
    key = environ.get("DJANGO_SECRET_KEY")
    if not demo_mode and key is not None and (not key.strip() or key in PUBLISHED_KEYS):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is empty or the published demo key. Outside demo "
            "mode set DJANGO_SECRET_KEY to a long random secret, e.g. the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`, "
            "or set DEMO_MODE=1 to run the demo."
        )
    if key:
        return key
    # Unset (or empty in demo mode): one key is made per VAR_DIR and kept out of
    # git, so no secret is ever committed and sessions survive restarts.
    path = var_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
