"""config.secret_key: which keys a start accepts, and where an unset key comes from."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.secret_key import secret_key


@pytest.mark.parametrize("key", ["change-me-outside-a-demo", "", "  "])
def test_a_published_or_empty_key_is_refused_outside_demo_mode(tmp_path, key):
    # when
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        secret_key({"DJANGO_SECRET_KEY": key}, demo_mode=False, var_dir=tmp_path)

    # then: nothing was generated in its place
    assert not (tmp_path / "secret_key").exists()


def test_the_demo_accepts_the_published_key(tmp_path):
    # when
    key = secret_key(
        {"DJANGO_SECRET_KEY": "change-me-outside-a-demo"},
        demo_mode=True,
        var_dir=tmp_path,
    )

    # then
    assert key == "change-me-outside-a-demo"


def test_a_key_from_the_environment_wins(tmp_path):
    # when
    key = secret_key({"DJANGO_SECRET_KEY": "k" * 60}, demo_mode=False, var_dir=tmp_path)

    # then
    assert key == "k" * 60
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("demo_mode", [False, True])
def test_an_unset_key_is_made_once_per_var_dir_and_kept_private(tmp_path, demo_mode):
    # when
    first = secret_key({}, demo_mode=demo_mode, var_dir=tmp_path)
    again = secret_key({}, demo_mode=demo_mode, var_dir=tmp_path)

    # then
    assert first == again
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_an_empty_key_in_demo_mode_falls_back_to_the_kept_one(tmp_path):
    # when
    key = secret_key({"DJANGO_SECRET_KEY": ""}, demo_mode=True, var_dir=tmp_path)

    # then
    assert key == (tmp_path / "secret_key").read_text().strip()
