"""Who may sign in: any active account, but the demo's only in demo mode.

The demo accounts share a published password, so outside demo mode they are
refused everywhere a user is recognised: the web sign-in, the token endpoint,
an existing session (api/auth_backends.py) and an existing token
(api/auth_tokens.py). This module is the one place that knows them.
"""

from django.conf import settings

# The usernames seed_demo creates (tests/api/test_auth_accounts.py keeps the two
# lists equal).
DEMO_USERNAMES = frozenset({"alice", "bob", "carol", "gina"})
# The marker seed_demo sets (demo_user_mark); an operator can see it in the admin.
DEMO_GROUP = "demo accounts"
# seed_demo's address for a user it creates (`<username>@<slug>.example`): a
# reserved domain (RFC 2606) that no real mailbox has.
DEMO_EMAIL_SUFFIX = ".example"


def demo_user_mark(user) -> None:
    """Mark a user as a demo account (published password): for seed_demo to call."""
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name=DEMO_GROUP)
    user.groups.add(group)


def is_demo_user(user) -> bool:
    """Return True for an account whose password the demo publishes.

    Marked accounts are demo accounts; so is an account an earlier seed made
    before the marker existed, known by its demo username and seed address.
    """
    if user.username in DEMO_USERNAMES and (user.email or "").endswith(
        DEMO_EMAIL_SUFFIX
    ):
        return True
    return user.groups.filter(name=DEMO_GROUP).exists()


def sign_in_permitted(user) -> bool:
    """Return whether an active user may sign in or use a session or token now."""
    return settings.DEMO_MODE or not is_demo_user(user)
