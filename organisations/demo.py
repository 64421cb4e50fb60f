"""Which users the demo seed made: the one marker sign-in checks outside demo mode.

`seed_demo` creates these users with a published password. A demo user is one of
these usernames *with the address the seed gave it*, on the `.example` top-level
domain that RFC 2606 reserves, so no real mailbox has it. The address, not the
name alone, is the marker: a real user called alice (or a test's alice) is not a
demo user, while accounts seeded before this marker existed still are, with no
migration. See docs/operations.md#demo-mode-and-demo-users.
"""

# username -> the organisation (slug) the seed puts the user in
DEMO_USER_ORGANISATIONS = {
    "alice": "acme",
    "bob": "acme",
    "carol": "acme",
    "gina": "globex",
}
DEMO_USERNAMES = frozenset(DEMO_USER_ORGANISATIONS)


def demo_email(username: str) -> str:
    """Return the address seed_demo gives the demo user `username`."""
    return f"{username}@{DEMO_USER_ORGANISATIONS[username]}.example"


def is_demo_user(user) -> bool:
    """Tell whether `user` is an account seed_demo created (published password).

    Costs no query: it reads the username and e-mail already on the user.
    """
    username = getattr(user, "username", None)
    if username not in DEMO_USER_ORGANISATIONS:
        return False
    return (getattr(user, "email", "") or "").lower() == demo_email(username)
