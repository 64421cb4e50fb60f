"""Who may sign in: any active account, but the demo's only in demo mode.

The demo accounts share a published password, so outside demo mode they are
refused everywhere a user is recognised: the web sign-in, the token endpoint,
an existing session (api/auth_backends.py) and an existing token
(api/auth_tokens.py). Who is a demo account is decided in one place,
organisations/demo.py, which seed_demo shares.
"""

from django.conf import settings

from organisations.demo import is_demo_user


def sign_in_permitted(user) -> bool:
    """Return whether an active user may sign in or use a session or token now."""
    return settings.DEMO_MODE or not is_demo_user(user)
