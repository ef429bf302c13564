"""The benchmark's rounds: each phase's median over rounds run in turns, and each round shown."""

from __future__ import annotations

from typing import Any

from bench import report


def _result(plan: float, apply: float, peak: float, verify: float) -> dict[str, Any]:
    return {"phases": [
        {"phase": "plan", "seconds": plan, "cpu_seconds": plan - 0.5, "peak_rss_mb": peak},
        {"phase": "apply", "seconds": apply, "cpu_seconds": apply, "peak_rss_mb": peak / 2}],
        "verify_seconds": verify, "max_rss_mb": peak + 1, "load": {"mean": 1.0, "max": 1.5}}


def test_one_round_is_itself() -> None:
    one = _result(10, 5, 200, 1)
    assert report.median([one]) is one


def test_rounds_give_each_phase_its_median_and_the_highest_peak() -> None:
    rounds = [_result(10, 9, 200, 1), _result(14, 5, 250, 2), _result(12, 6, 220, 3)]
    side = report.Side("mops", report.median(rounds))
    assert side.seconds("plan") == 12 and side.seconds("apply") == 6
    assert side.seconds() == 18          # the medians' sum, not any one round's
    assert side.peak("plan") == 250 and side.peak("apply") == 125
    assert side.result["rounds"] == [19, 19, 18]
    assert side.result["verify_seconds"] == 1      # from the median round (19 s, the first)
    assert side.result["max_rss_mb"] == 251


def test_the_doc_section_lists_each_round_and_its_ratio() -> None:
    mops = report.Side("mops", report.median([_result(10, 10, 200, 1), _result(12, 12, 200, 1)]))
    floor = report.Side("floor", report.median([_result(5, 5, 900, 0), _result(4, 4, 900, 0)]))
    assert report.rounds_line(mops, floor) == (
        "rounds, in turns (mops / floor = ratio): 20.0 / 10.0 s = 2.00×; 24.0 / 8.0 s = 3.00×")
    manifest = {"lines": 3, "expected": {"create": 1, "update": 1, "unchanged": 0,
                                         "add_member": 2, "rejected": 0, "duplicate": 0},
                "initial": {"contacts": 1}}
    info = {"date": "today", "cpus": "2", "ram": "1 GiB", "os": "Linux", "python": "3.11",
            "polars": "1", "sqlite": "3", "commit": "abc"}
    section = report.doc_section(2, "cmd", info, report.rows(mops, floor, 2), mops, floor,
                                 manifest, [])
    assert "- 2 rounds, each side's phases shown as their median: rounds, in turns" in section
    assert "**ratio 2.4×**" in section      # medians: mops 11 + 11, floor 4.5 + 4.5
