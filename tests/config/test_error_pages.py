"""Unknown URLs: problem details under /api/, a page of the demo elsewhere."""

import pytest


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_problem_and_an_unknown_page_is_a_page(
    client, settings
):
    settings.DEBUG = False

    api = client.get("/api/v1/no-such-thing")
    page = client.get("/no-such-page")

    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert b"No such page." in page.content
