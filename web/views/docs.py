"""The walkthroughs in docs/, served as pages so every lesson link stays local,
and their index: the reading map, the lessons, the decisions and the rest.
"""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from web.doc_render import doc_title, markdown_html
from web.pages import not_found, render_page

DOCS = Path(settings.BASE_DIR) / "docs"
SERVED = {".md", ".png"}
# The index's sections: (id, heading, folder under docs/).
SECTIONS = [
    ("walkthroughs", "Walkthroughs", "lessons"),
    ("decisions", "Decisions (ADRs)", "adr"),
    ("other", "Running, testing and the API", "."),
]


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


def _rendered(source: str, here: str) -> dict:
    body = markdown_html(source, here=here)
    return {
        # markdown_html escapes the text before it adds any markup.
        "body": mark_safe(body),  # noqa: S308
        "diagrams": '<pre class="mermaid">' in body,
    }


def doc(request, path):
    file = doc_path(path)
    if file is None:
        return not_found(request, f"No walkthrough docs/{path}.")
    if file.suffix == ".png":
        return FileResponse(file.open("rb"), content_type="image/png")
    source = file.read_text(encoding="utf-8")
    return render_page(
        request,
        "web/doc.html",
        {
            "title": doc_title(source, path),
            "path": path,
            "section": "docs",
            **_rendered(source, path),
        },
        lesson=None,
    )


def _listing(folder: str) -> list[dict]:
    entries = []
    for file in sorted((DOCS / folder).glob("*.md")):
        here = file.relative_to(DOCS).as_posix()
        if file.name == "README.md":
            continue  # the folder's own map, linked from the section's heading
        title = doc_title(file.read_text(encoding="utf-8"), file.stem)
        entries.append({"title": title, "path": here})
    return entries


def index(request):
    """List every document under docs/, under docs/README.md if there is one."""
    sections = []
    for anchor, heading, folder in SECTIONS:
        readme = DOCS / folder / "README.md"
        sections.append(
            {
                "id": anchor,
                "heading": heading,
                "entries": _listing(folder),
                "readme": (
                    reverse("web:doc", args=[f"{folder}/README.md"])
                    if folder != "." and readme.is_file()
                    else None
                ),
            }
        )
    readme = DOCS / "README.md"
    context = {"title": "Docs", "sections": sections, "section": "docs"}
    if readme.is_file():
        context |= _rendered(readme.read_text(encoding="utf-8"), "README.md")
    return render_page(request, "web/docs.html", context, lesson=None)
