"""The headline figures the benchmark derives, and the targets checked on them."""

from bench.summary import figures_derive
from bench.targets import targets_check


def _spread(value: float) -> dict:
    return {"median": value, "min": value, "max": value, "iqr": 0, "runs": [value]}


def _throughput(rate: float, cpu: dict, commits: float, by_process=None) -> dict:
    return {
        "approvals_per_s": _spread(rate),
        "api_calls_per_s": _spread(rate),
        "cpu_ms_per_approval": {
            "per_unit": {group: _spread(ms) for group, ms in cpu.items()}
        },
        "db_per_approval": {
            "xact_commit": _spread(commits),
            "commits_by_process": {
                name: _spread(n) for name, n in (by_process or {}).items()
            },
        },
    }


def test_the_cost_of_an_approval_is_every_stack_process_where_it_ran_fastest():
    # given: 8 clients ran fastest; the bench client and this database's
    # backends (inside the PostgreSQL server's figure) are not added
    results = {
        "throughput": {
            "1": _throughput(20.0, {"web": 50.0}, 40.0),
            "8": _throughput(
                30.0,
                {
                    "web": 7.0,
                    "ledger-worker": 3.0,
                    "postgresql": 10.0,
                    "postgresql backends (this db)": 9.0,
                    "rabbitmq": 2.0,
                    "bench client": 1.0,
                    "other processes": 4.0,
                },
                12.5,
                {"web": 2.0, "ledger-worker": 10.0, "elsewhere": 0.5},
            ),
        },
        "memory": {"max_mib": 100.0},
    }

    # when
    figures = figures_derive(results)
    targets = targets_check(figures)

    # then
    assert figures["cost_measured_at_clients"] == "8"
    assert figures["cpu_ms_per_approval_total"] == 22.0
    assert figures["db_commits_per_approval_total"] == 12.5
    assert figures["db_commits_per_approval"] == {
        "web": 2.0,
        "ledger-worker": 10.0,
        "elsewhere": 0.5,
    }
    assert targets["cpu_ms_per_approval_total"]["met"] is False
    assert targets["db_commits_per_approval_total"] == {
        "target": "<= 4",
        "value": 12.5,
        "met": False,
    }
    assert targets["peak_rss_mib_max"]["met"] is True
    assert targets["relay_drain_share_of_raw_loop"]["met"] is None


def _paced_floors(gunicorn, postgresql, worker, delivery, publish) -> dict:
    return {
        "web_noop": {
            "gunicorn_cpu_ms_per_request": _spread(gunicorn),
            "postgresql_cpu_ms_per_request": _spread(postgresql),
        },
        "celery_noop_paced": {
            "worker_cpu_ms_per_task": _spread(worker),
            "rabbitmq_delivery_cpu_ms_per_task": _spread(delivery),
            "rabbitmq_publish_cpu_ms_per_task": _spread(publish),
        },
    }


def test_the_framework_floor_is_the_web_no_op_once_and_a_paced_task_per_delivery():
    # given: an approval's PaymentApproved reaches five consumers, its
    # PaymentReleased one; each event is published once
    results = {
        "run": {
            "deliveries_per_approval": {"PaymentApproved": 5, "PaymentReleased": 1}
        },
        "floors": _paced_floors(
            gunicorn=1.75, postgresql=0.25, worker=0.5, delivery=0.25, publish=0.75
        ),
    }

    # when
    figures = figures_derive(results)
    targets = targets_check(figures)

    # then
    assert figures["framework_floor_cpu_ms_per_approval"] == {
        "web_gunicorn": 1.75,
        "web_postgresql": 0.25,
        "celery_worker": 3.0,
        "rabbitmq_deliveries": 1.5,
        "rabbitmq_publishes": 1.5,
        "deliveries_per_approval": 6,
        "events_per_approval": 2,
        "total": 8.0,
    }
    assert targets["cpu_ms_per_approval_total"]["floor"] == 8.0
    assert targets["cpu_ms_per_approval_total"]["met"] is None  # no pipeline figure


def test_without_every_part_of_the_framework_floor_there_is_no_floor():
    # given: the web floor was not measured (an earlier run's results)
    floors = _paced_floors(
        gunicorn=1.75, postgresql=0.25, worker=0.5, delivery=0.25, publish=0.75
    )
    del floors["web_noop"]
    results = {"run": {"deliveries_per_approval": {"PaymentApproved": 5}}}

    # when
    figures = figures_derive({**results, "floors": floors})

    # then
    assert figures["framework_floor_cpu_ms_per_approval"] is None
    assert targets_check(figures)["cpu_ms_per_approval_total"]["floor"] is None
