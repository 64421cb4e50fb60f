"""The walkthroughs in docs/, served as pages so every lesson link stays local."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from django.utils.safestring import mark_safe

from web.doc_render import markdown_html
from web.pages import not_found, render_page

DOCS = Path(settings.BASE_DIR) / "docs"
SERVED = {".md", ".png"}


def doc_path(path: str) -> Path | None:
    """Return the walkthrough or image under docs/ that `path` names, or None."""
    candidate = (DOCS / path).resolve()
    if (
        candidate.suffix not in SERVED
        or DOCS.resolve() not in candidate.parents
        or not candidate.is_file()
    ):
        return None
    return candidate


def doc(request, path):
    file = doc_path(path)
    if file is None:
        return not_found(request, f"No walkthrough docs/{path}.")
    if file.suffix == ".png":
        return FileResponse(file.open("rb"), content_type="image/png")
    source = file.read_text(encoding="utf-8")
    headings = (line[2:].strip() for line in source.splitlines() if line[:2] == "# ")
    title = next(headings, path)
    return render_page(
        request,
        "web/doc.html",
        {
            "title": title,
            "path": path,
            # markdown_html escapes the text before it adds any markup.
            "body": mark_safe(markdown_html(source, here=path)),  # noqa: S308
        },
        lesson=None,
    )
