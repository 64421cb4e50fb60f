"""The relay's demo-only pause switch over the API: operators only, demo mode only."""

from events.models import RelayState
from tests.assertions import assert_problem


def test_a_demo_operator_pauses_and_resumes_the_relay_in_demo_mode(
    demo, client_for, bob
):
    # when
    paused = client_for(bob).post("/api/v1/relay/pause")

    # then
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    assert paused.json()["scope"] == "global"
    assert RelayState.objects.get().paused is True

    # when
    resumed = client_for(bob).post("/api/v1/relay/resume")

    # then
    assert resumed.json()["paused"] is False
    assert RelayState.objects.get().paused is False


def test_the_relay_switch_is_for_operators_and_only_in_demo_mode(
    settings, client_for, alice, bob, gina
):
    # given: demo mode off
    settings.DEMO_MODE = False

    # then: the switch does not exist
    assert_problem(client_for(bob).post("/api/v1/relay/pause"), 404)

    # given: demo mode on, bob the demo's operator
    settings.DEMO_MODE = True
    settings.DEMO_OPERATORS = ["bob"]

    # then: neither a maker nor another organisation's approver may touch it
    for user in (alice, gina):
        refused = client_for(user).post("/api/v1/relay/pause")
        assert_problem(refused, 403, "operator-required")
    assert not RelayState.objects.filter(paused=True).exists()
