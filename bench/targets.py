"""The targets of issue 12 (this 2-core machine), checked against a run's figures.

Issue 5 set the first ones; issue 12 kept them, dropped the relay's absolute
rate for its share of the raw relay loop measured in the same run, and added
the CPU and the commits an approval costs all processes together.
"""

TARGETS = {
    "rest_approvals_per_s": (">=", 150.0),
    "cpu_ms_per_approval_total": ("<=", 13.0),
    "db_commits_per_approval_total": ("<=", 4.0),
    "e2e_p50_ms_at_moderate_rate": ("<=", 10.0),
    "e2e_p99_ms_at_moderate_rate": ("<=", 30.0),
    "consumer_drain_events_per_s_min": (">=", 500.0),
    "relay_drain_share_of_raw_loop": (">=", 0.9),
    "peak_rss_mib_max": ("<=", 150.0),
}


# The floor a target's figure cannot go below on this machine, where the run
# measures one: shown beside the verdict as context, never checked.
FLOORS = {"cpu_ms_per_approval_total": "framework_floor_cpu_ms_per_approval"}


def targets_check(figures: dict) -> dict:
    """Each target with the run's figure and whether it is met (None: no figure),
    and its floor's total where it has one."""
    checked = {}
    for key, (op, bound) in TARGETS.items():
        value = figures.get(key)
        met = None
        if value is not None:
            met = value <= bound if op == "<=" else value >= bound
        checked[key] = {"target": f"{op} {bound:g}", "value": value, "met": met}
        if key in FLOORS:
            checked[key]["floor"] = (figures.get(FLOORS[key]) or {}).get("total")
    return checked
