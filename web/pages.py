"""What every page shows around its content: who you are, the lesson, demo alerts."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from events.models import ConsumerState, RelayState
from organisations.selectors import membership_get
from web.demo import DEMO_USERS
from web.lessons import LESSONS


def demo_alerts() -> list[str]:
    """Say which demo switches are off, so a presenter never forgets one."""
    alerts = []
    if RelayState.objects.filter(pk=1, paused=True).exists():
        alerts.append(
            "The relay is stopped: new events wait in the outbox until it starts."
        )
    paused = list(
        ConsumerState.objects.filter(
            paused=True, consumer__in=settings.EVENT_CONSUMERS
        ).values_list("consumer", flat=True)
    )
    if paused:
        alerts.append(
            f"Paused: {', '.join(sorted(paused))}. "
            "Their events wait in the broker until resumed."
        )
    return alerts


def render_page(
    request,
    template: str,
    context: dict | None = None,
    *,
    lesson: str | None,
    status: int = 200,
):
    user = request.user
    signed_in = user.is_authenticated
    page = {
        "membership": membership_get(user=user) if signed_in else None,
        "demo_mode": settings.DEMO_MODE,
        "demo_users": DEMO_USERS if settings.DEMO_MODE else (),
        "lesson": LESSONS.get(lesson or ""),
        "section": lesson,
        "alerts": demo_alerts() if settings.DEMO_MODE and signed_in else [],
        **(context or {}),
    }
    return render(request, template, page, status=status)


def not_found(request, detail: str = "No such page."):
    # No lesson: a missing page teaches nothing, and any banner would mislead.
    return render_page(
        request, "web/not_found.html", {"detail": detail}, lesson=None, status=404
    )


def no_organisation(request):
    return render_page(
        request,
        "web/not_found.html",
        {
            "heading": "No organisation",
            "detail": "You do not belong to an organisation, so there is nothing "
            "to show. Sign in as one of the demo users.",
        },
        lesson="sign_in",
        status=403,
    )


signed_in = login_required(login_url="web:sign-in")
