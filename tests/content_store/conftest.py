"""A fresh, empty content store for each test."""

import pytest

from tests.conftest import content_store_at


@pytest.fixture
def store_dir(tmp_path):
    """The folder the content store writes to in this test."""
    with content_store_at(tmp_path / "content"):
        yield tmp_path / "content"


def stored_files(root) -> list[str]:
    """Every file under the store's folder, temporary ones included, relative."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
