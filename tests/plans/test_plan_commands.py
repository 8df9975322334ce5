"""`milepost plan report` and `milepost plan check`, run in-process and once as a subprocess."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from milepost.cli import build_parser, main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"

WORKED = """\
organization: {name: Acme, timezone: Europe/Berlin}
teams: [{key: marketing, name: Marketing, capacity_days_per_week: 20}]
cycles: [{key: 2026-Q3, start: 2026-07-01, end: 2026-09-30}]
objectives:
  - key: seo
    title: Improve the SEO of the website content
    cycle: 2026-Q3
    team: marketing
    key_results:
      - {key: pageviews, title: Page views from 1200 to 2500, kind: increase, start: 1200,
         target: 2500, checkins: [{date: 2026-07-15, value: 1400, confidence: 7}]}
      - {key: bounce, title: Bounce rate from 10% to 4%, kind: decrease, start: 10, target: 4,
         checkins: [{date: 2026-07-15, value: 8}]}
initiatives:
  - {key: research, title: Keyword research, team: marketing, start: 2026-07-01,
     end: 2026-07-10, effort_days: 5, key_results: [{key_result: seo/bounce}]}
  - {key: blog, title: Publish 10 posts with backlinks, team: marketing, start: 2026-07-13,
     end: 2026-09-15, effort_days: 30, key_results: [{key_result: seo/pageviews, weight: 1}],
     depends_on: [{initiative: research, type: FS, lag_days: 2}]}
"""


@pytest.fixture
def worked(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(WORKED)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_has_the_documented_shape(
    worked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "plan", "report", str(worked), "--as-of", "2026-07-20", "--format", "json"
    )
    assert (code, err) == (0, "")
    report = json.loads(out, parse_float=Decimal)
    assert set(report) == {"as_of", "key_results", "objectives", "initiatives", "findings"}
    assert report["as_of"] == "2026-07-20"
    krs = {kr["key"]: kr for kr in report["key_results"]}
    assert set(krs["seo/pageviews"]) == {
        "key",
        "progress",
        "progress_raw",
        "expected",
        "status",
        "confidence",
        "confidence_disagrees",
        "forecast",
        "explanation",
    }
    # the worked examples of issue 3
    assert krs["seo/pageviews"]["progress"] == Decimal("0.1538")
    assert krs["seo/pageviews"]["progress_raw"] == Decimal("0.1538")
    assert krs["seo/bounce"]["progress"] == Decimal("0.3333")
    assert krs["seo/pageviews"]["confidence"] == 7
    assert krs["seo/pageviews"]["forecast"] is None  # one check-in is too few
    assert set(krs["seo/pageviews"]["explanation"]) == {"rule", "summary", "terms", "notes"}
    (objective,) = report["objectives"]
    assert set(objective) == {"key", "progress", "status", "explanation"}
    assert objective["key"] == "seo"
    initiatives = {i["key"]: i for i in report["initiatives"]}
    assert set(initiatives["blog"]) == {
        "key",
        "earliest_start",
        "earliest_finish",
        "latest_start",
        "latest_finish",
        "slack_days",
        "critical",
        "priority",
        "priority_explanation",
    }
    assert initiatives["blog"]["earliest_start"] == "2026-07-13"
    assert isinstance(initiatives["blog"]["critical"], bool)
    for finding in report["findings"]:
        assert set(finding) == {"code", "severity", "message", "objects"}


def test_report_numbers_are_rounded_to_four_decimals(
    worked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(
        capsys, "plan", "report", str(worked), "--as-of", "2026-07-20", "--format", "json"
    )

    def numbers(value: object) -> list[Decimal]:
        if isinstance(value, dict):
            return [
                n
                for k, v in value.items()
                if k not in ("explanation", "priority_explanation")
                for n in numbers(v)
            ]
        if isinstance(value, list):
            return [n for v in value for n in numbers(v)]
        return [value] if isinstance(value, Decimal) else []

    found = numbers(json.loads(out, parse_float=Decimal))
    assert found
    assert all(int(n.as_tuple().exponent) >= -4 for n in found)


def test_report_text_is_a_table(worked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "report", str(worked), "--as-of", "2026-07-20")
    assert code == 0
    assert "Key results (2)" in out
    line = next(row for row in out.splitlines() if row.startswith("seo/pageviews"))
    assert "15.4%" in line
    assert "7/10" in line
    assert "Initiatives (2)" in out
    assert "Findings (" in out


def test_report_explain_prints_how_numbers_were_computed(
    worked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "plan", "report", str(worked), "--as-of", "2026-07-20", "--explain")
    assert "seo/pageviews: progress" in out


def test_report_defaults_to_today(worked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "report", str(worked), "--format", "json")
    assert code == 0
    assert json.loads(out)["as_of"]


def test_check_passes_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "check", str(EXAMPLE), "--as-of", "2026-08-20")
    assert code == 0
    assert out.splitlines()[-1].startswith(f"{EXAMPLE}: valid; findings: 0 errors")


def test_check_lists_every_validation_error_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        WORKED.replace("target: 2500,", "target: 1200,").replace("team: marketing,", "team: x,")
    )
    code, out, _ = run(capsys, "plan", "check", str(path))
    assert code == 1
    assert f"{path}: objectives[0].key_results[0].target: must differ from start" in out
    assert f"{path}: initiatives[0].team: unknown team 'x'" in out
    assert out.splitlines()[-1] == f"{path}: 3 errors"  # both initiatives name team x


def test_check_fails_on_a_finding_of_severity_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "late.yaml"
    path.write_text(WORKED.replace("start: 2026-07-13", "start: 2026-07-05"))
    code, out, _ = run(capsys, "plan", "check", str(path), "--as-of", "2026-07-20")
    assert code == 1
    assert f"{path}: error dependency-violated: " in out
    assert "plan has errors" in out.splitlines()[-1]


def test_report_on_an_invalid_file_prints_the_errors_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("objectives: [{key: o}]\n")
    code, out, err = run(capsys, "plan", "report", str(path))
    assert code == 1
    assert out == ""
    assert f"{path}: objectives[0].title: is required" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.yaml", None, "no such file"),
        ("broken.yaml", "objectives: [\n", "not valid YAML"),
        ("broken.json", "{", "not valid JSON"),
        ("list.yaml", "- 1\n", "must be a mapping at the top level"),
    ],
)
@pytest.mark.parametrize("command", ["check", "report"])
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    name: str,
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "plan", command, str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("milepost: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_bad_date_is_a_usage_error(worked: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["plan", "report", str(worked), "--as-of", "20-07-2026"])
    assert caught.value.code == 2


def test_plan_without_a_subcommand_prints_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "plan")
    assert code == 2
    assert "report" in err
    assert "check" in err


def test_every_plan_command_and_option_has_help() -> None:
    parser = build_parser()
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    plan_parser = top.choices["plan"]
    plan_group = next(a for a in plan_parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"report", "check"} <= set(plan_group.choices)
    helps = {c.dest: c.help for c in plan_group._choices_actions}
    assert all(helps.values()), helps
    for sub in plan_group.choices.values():
        for action in sub._actions:
            assert action.help, (sub.prog, action.dest)


def test_the_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    milepost = Path(sys.executable).parent / "milepost"
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams: [{key: a, parent: a}]\nobjectives: [1, 2]\n")
    unreadable = tmp_path / "binary.yaml"
    unreadable.write_bytes(b"\xff\xfe")
    cases = [
        (["plan", "check", str(EXAMPLE), "--as-of", "2026-08-20"], 0),
        (["plan", "report", str(EXAMPLE), "--as-of", "2026-08-20", "--format", "json"], 0),
        (["plan", "check", str(bad)], 1),
        (["plan", "check", str(unreadable)], 2),
    ]
    for argv, expected in cases:
        done = subprocess.run(  # noqa: S603 - the project's own entry point
            [str(milepost), *argv], capture_output=True, text=True, check=False
        )
        assert "Traceback" not in done.stderr + done.stdout, argv
        assert done.returncode == expected, (argv, done.stdout, done.stderr)
        if "json" in argv:
            assert json.loads(done.stdout)["as_of"] == "2026-08-20"


def test_a_dependency_loop_is_a_finding_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(WORKED + "dependencies: [{predecessor: blog, successor: research}]\n")
    code, out, _ = run(capsys, "plan", "check", str(path), "--as-of", "2026-07-20")
    assert code == 1
    assert "error dependency-cycle: " in out
    code, out, _ = run(
        capsys, "plan", "report", str(path), "--as-of", "2026-07-20", "--format", "json"
    )
    assert code == 0
    report = json.loads(out)
    assert all(i["earliest_start"] is None for i in report["initiatives"])
    assert any(f["code"] == "dependency-cycle" for f in report["findings"])
