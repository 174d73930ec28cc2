"""Every hostile-project case: no code runs, no false pass, no leak, no crash, bounded."""

from __future__ import annotations

import pytest

from tests.hostile import all_cases, run_case

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case, tmp_path):
    result = run_case(case, tmp_path)
    assert not result.problems, result.outcome
