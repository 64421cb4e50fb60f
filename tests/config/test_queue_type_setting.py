"""EVENT_QUEUE_TYPE: classic by default, quorum when asked, anything else refused."""

from tests.config.settings_process import manage, process_env, settings_in


def test_queues_are_classic_unless_quorum_is_asked_for(tmp_path):
    assert settings_in(process_env(tmp_path), "EVENT_QUEUE_TYPE") == {
        "EVENT_QUEUE_TYPE": "classic"
    }
    quorum = process_env(tmp_path, EVENT_QUEUE_TYPE=" Quorum ")
    assert settings_in(quorum, "EVENT_QUEUE_TYPE") == {"EVENT_QUEUE_TYPE": "quorum"}


def test_an_unknown_queue_type_stops_the_process_at_start(tmp_path):
    # when
    done = manage(process_env(tmp_path, EVENT_QUEUE_TYPE="stream"), "check")

    # then
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "EVENT_QUEUE_TYPE must be classic or quorum, not 'stream'" in done.stderr
