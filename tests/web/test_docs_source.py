"""The source view: the repository's own tracked source files, highlighted, with
the asked lines marked; anything else is the demo's not-found page.
"""

import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from web import source_files

pytestmark = pytest.mark.django_db

BASE = Path(django_settings.BASE_DIR)
ALLOWED = {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".json", ".html", ".js"}
ALLOWED |= {".css", ".sh"}


@pytest.fixture
def fresh_file_list():
    """Read the file list again in the test, and again after it."""
    source_files.served_files.cache_clear()
    yield
    source_files.served_files.cache_clear()


def test_the_source_view_marks_the_asked_lines(client):
    # given
    lines = (BASE / "events/relay.py").read_text().splitlines()
    first = next(i for i, line in enumerate(lines, 1) if "def relay_once(" in line)
    # when
    page = client.get(
        f"/source/events/relay.py?lines={first}-{first + 1}",
        HTTP_REFERER="http://testserver/docs/lessons/relay.md",
    )
    # then
    html = page.content.decode()
    assert page.status_code == 200
    marked = html.split(f'<span class="line marked" id="L{first}">', 1)[1]
    assert marked.split("</span>\n", 1)[0].count("relay_once") == 1
    assert f'<span class="line marked" id="L{first + 1}">' in html
    assert f'<span class="line" id="L{first - 1}">' in html
    assert f'<span class="line" id="L{first + 2}">' in html
    assert html.count('class="line') == len(lines)
    assert f'href="#L{first}" data-line="{first}"' in html
    assert '<span class="k">def</span>' in html  # highlighted by Pygments
    assert "-&gt;" in html  # and escaped
    # a breadcrumb to the folder, and the way back to the walkthrough
    assert '<a href="/source/events/">events</a>/' in html
    assert '<a href="/docs/lessons/relay.md" data-testid="back">' in html


def test_the_back_link_never_leads_to_another_host(client):
    html = client.get(
        "/source/events/relay.py", HTTP_REFERER="https://elsewhere.example/docs/x"
    ).content.decode()
    assert '<a href="/docs/" data-testid="back">Back to the docs</a>' in html


@pytest.mark.parametrize("lines", ["abc", "0-", "9999999", "-3", "5-2"])
def test_odd_line_numbers_mark_nothing_or_one_line(client, lines):
    page = client.get(f"/source/events/relay.py?lines={lines}")
    assert page.status_code == 200
    assert page.content.decode().count("line marked") <= 1


def test_a_folder_lists_its_shown_files(client):
    html = client.get("/source/events/api/").content.decode()
    assert '<a class="mono" href="/source/events/api/views.py">views.py</a>' in html
    assert "__pycache__" not in html and ".pyc" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/source/../../etc/passwd",
        "/source/%2e%2e/%2e%2e/etc/passwd",
        "/source/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/source/events/../../../etc/passwd",
        "/source//etc/passwd",
        "/source/.git/config",
        "/source/.git/HEAD",
        "/source/.gitignore",
        "/source/.venv/bin/activate",
        "/source/.venv/pyvenv.cfg",
        "/source/var/secret_key",
        "/source/var/",
        "/source/bench/results/",
        "/source/web/static/web/vendor/mermaid/mermaid.min.js",
        "/source/docs/images/demo-1-refused-input.png",
        "/source/events/__pycache__/",
        "/source/events/relay.pyc",
        "/source/no/such/file.py",
    ],
)
def test_only_the_repositorys_own_source_files_are_shown(client, path):
    # when
    page = client.get(path)
    # then: the demo's not-found page, and nothing of the file
    assert page.status_code == 404
    html = page.content.decode()
    assert "<h1>Not found</h1>" in html
    assert "root:" not in html and "[core]" not in html
    assert (BASE / "var" / "secret_key").read_text().strip() not in html


def test_an_untracked_file_is_not_shown(client, fresh_file_list):
    # given: a file git does not track, inside the repository
    name = f"web/untracked_{uuid.uuid4().hex}.py"
    (BASE / name).write_text("SECRET = 'not for the source view'\n")
    try:
        # when
        page = client.get(f"/source/{name}")
    finally:
        (BASE / name).unlink()
    # then
    assert page.status_code == 404
    assert "not for the source view" not in page.content.decode()


def test_a_symlink_out_of_the_repository_is_not_followed(client, tmp_path, monkeypatch):
    # given: a listed name that is a symlink to a file outside
    outside = tmp_path / "outside.py"
    outside.write_text("LEAKED = True\n")
    link = BASE / "web" / f"link_{uuid.uuid4().hex}.py"
    link.symlink_to(outside)
    listed = source_files.served_files() | {link.relative_to(BASE).as_posix()}
    monkeypatch.setattr(source_files, "served_files", lambda: listed)
    try:
        # when
        page = client.get(f"/source/{link.relative_to(BASE).as_posix()}")
    finally:
        link.unlink()
    # then
    assert page.status_code == 404
    assert "LEAKED" not in page.content.decode()


def test_without_git_a_walk_with_an_allowlist_stands_in(monkeypatch, fresh_file_list):
    # given: no git on the PATH, as in the Docker image
    monkeypatch.setattr(source_files.shutil, "which", lambda name: None)
    # when
    served = source_files.served_files()
    # then
    assert {"events/relay.py", "Makefile", "Dockerfile", "README.md"} <= served
    for name in served:
        path = Path(name)
        assert path.suffix in ALLOWED or path.name in {"Makefile", "Dockerfile"}
        assert not any(part.startswith(".") for part in path.parts), name
        assert "__pycache__" not in path.parts
        assert not name.startswith(("var/", "bench/results/", "test-artefacts/"))
