"""The public NL filing-rule conformance suite (NT16–NT18, shared/conformance): every case
reports its expected rule code through the real ``gateway check`` command.

All cases go through one ``gateway check --json`` invocation (as a filer would check a
folder), so the suite costs one process start.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.checks.cli_support import Run, codes_by_file, gateway
from tests.support.shared import shared


def _cases() -> list[dict[str, str]]:
    with open(shared("conformance", "expected.tsv"), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Run:
    paths = sorted({case["path"] for case in _cases()})
    return gateway("check", "--json", *paths, data_dir=tmp_path_factory.mktemp("data"), cwd=shared("conformance"))


def test_every_case_reports_its_expected_code(suite: Run) -> None:
    assert suite.code == 1, suite.stderr  # every case breaks a rule; none could not be checked
    found = codes_by_file(suite)
    missing = []
    for case in _cases():
        codes = {f["code"] for f in found.get(case["path"], [])}
        missing += [(case["path"], code) for code in case["expected_codes"].split(",") if code not in codes]
    assert missing == [], missing
    assert len(_cases()) == 153


def test_every_case_was_checked_and_no_check_failed(suite: Run) -> None:
    results = suite.json()
    assert all(r["checked"] for r in results), [r for r in results if not r["checked"]]
    assert not [r["file"] for r in results if any(f["code"] == "GW-TECH-01" for f in r["findings"])]


def test_guidance_rules_are_warnings_and_every_finding_is_complete(suite: Run) -> None:
    for findings in codes_by_file(suite).values():
        for f in findings:
            if f["code"].startswith("FG-NL-"):
                assert f["severity"] == "warning", f
            assert f["message_nl"] and f["message_en"] and f["message_nl"] != f["message_en"], f
            assert set(f["location"]) == {"line", "column", "concept", "value", "where"}


def test_findings_say_what_triggered_them(suite: Run) -> None:
    found = codes_by_file(suite)
    decimals = next(f for f in found["nl_nt16/fr_kvk/5-02-invalid-decimals.xbrl"] if f["code"] == "FR-KVK-5.02")
    assert decimals["location"]["concept"] == "jenv-bw2-i:AverageNumberEmployees"
    text = Path(shared("conformance", "nl_nt16/fr_kvk/5-02-invalid-decimals.xbrl")).read_text(encoding="utf-8")
    line = text.splitlines()[decimals["location"]["line"] - 1]
    column = decimals["location"]["column"]
    assert line[column - 1 :].startswith("<jenv-bw2-i:AverageNumberEmployees")
    char = next(f for f in found["nl_nt16/fr_nl/1-02-invalid.xbrl"] if f["code"] == "FR-NL-1.02")
    assert char["location"]["line"] and char["location"]["column"] and char["location"]["value"]
