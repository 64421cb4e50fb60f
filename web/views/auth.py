"""Sign in and out, and the demo's one-click user switch."""

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from api.auth_backends import BACKEND, sign_in_wait
from web.demo import SwitchRefused, demo_user_for_switch
from web.pages import not_found, render_page


class SignInView(LoginView):
    """Django's LoginView: without a safe `next`, it lands on LOGIN_REDIRECT_URL.

    The backend throttles attempts (api/auth_backends.py); a throttled one is
    answered 429 here, before any password is checked.
    """

    template_name = "web/sign_in.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        wait = sign_in_wait(self.request)
        if wait is None:
            return super().form_invalid(form)
        seconds = math.ceil(wait)
        response = self.render_to_response(
            self.get_context_data(form=form, sign_in_wait=seconds), status=429
        )
        response["Retry-After"] = str(seconds)
        return response

    def render_to_response(self, context, **response_kwargs):
        return render_page(
            self.request,
            self.template_name,
            context,
            lesson="sign_in",
            status=response_kwargs.get("status", 200),
        )


def _next_url(request) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


@require_POST
def demo_switch(request):
    """Sign in as a seeded demo user in one click (demo mode only)."""
    if not settings.DEMO_MODE:
        # As if it did not exist, like the API's fault controls.
        return not_found(request)
    try:
        user = demo_user_for_switch(request.POST.get("username", ""))
    except SwitchRefused as exc:
        return render_page(
            request,
            "web/not_found.html",
            {"heading": "Cannot switch user", "detail": str(exc)},
            lesson="sign_in",
            status=403,
        )
    login(request, user, backend=BACKEND)
    messages.info(request, f"You are now {user.get_username()}.")
    return redirect(_next_url(request))
