"""The settlement benchmark runs end to end on a small statement and keeps to its
own database. It measures; these tests check only that it counts what it says,
never how fast (docs/benchmark.md#settlement-processing).
"""

import json

import pytest

from bench.settlement import BadArguments, main, postgres_url
from bench.settlement_seed import kinds


def test_matched_lines_are_spread_and_the_rest_split_between_unknown_and_fees():
    # given / when
    line_kinds = kinds(20, 0.9)

    # then
    assert line_kinds.count("matched") == 18
    assert sorted(line_kinds.count(k) for k in ("unknown", "fee")) == [1, 1]
    assert line_kinds[:9] == ["unknown"] + ["matched"] * 8


@pytest.mark.parametrize(
    "url",
    [
        "postgres://postgres@127.0.0.1:5432/payments",
        "postgres://postgres@127.0.0.1:5432/postgres",
        "sqlite:///tmp/x.sqlite3",
    ],
)
def test_it_refuses_any_database_but_a_new_one_of_its_own(url):
    # given / when / then
    with pytest.raises(BadArguments):
        postgres_url(url)


def test_without_a_name_it_makes_one_under_its_prefix():
    # given / when
    url, name = postgres_url("postgres://postgres@127.0.0.1:5432")

    # then
    assert name.startswith("bench_settlement_")
    assert url == f"postgres://postgres@127.0.0.1:5432/{name}"


def test_a_small_statement_is_processed_and_reported(tmp_path, capsys):
    # given: 40 lines, 30 of them settling an expected payment

    # when
    code = main(
        [
            *("--lines", "40", "--matched-share", "0.75"),
            *("--output", str(tmp_path), "--wait-for-fault-runs", "0"),
        ]
    )

    # then
    assert code == 0
    [path] = tmp_path.glob("settlement-*-40.json")
    result = json.loads(path.read_text())
    processing = result["processing"]
    assert processing["status"] == "processed"
    assert processing["lines"] == 40
    assert processing["outcomes"]["matched"] == 30
    assert processing["outcomes"]["unknown_payment"] == 5
    assert processing["outcomes"]["not_a_payment"] == 5
    assert processing["payment_settled_written"] == 30
    assert result["figures"]["peak_rss_mib"] > 0
    assert "30 matched" in capsys.readouterr().out
