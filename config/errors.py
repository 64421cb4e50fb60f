"""Error pages: problem details under /api/, the demo's own page everywhere else."""

from api.problems import not_found_view, server_error_view
from web.pages import not_found


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return not_found_view(request, exception)
    return not_found(request)


def server_error(request):
    # Kept to plain JSON: an error page must not depend on what may have failed.
    return server_error_view(request)
