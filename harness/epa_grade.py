"""The overall EPA grade from the AM1 and AM2 grades, by the specification's table.

Qualification Specification V1.1, "Grading": every method must be passed; AM1 weighs more than AM2,
so a Distinction in AM1 with a Pass in AM2 gives Merit, and a Distinction in AM2 lifts nothing.
"""

from __future__ import annotations

AM2_GRADES = ("fail", "pass", "distinction")

# (AM1, AM2) -> overall, cell by cell as the specification prints it.
OVERALL: dict[tuple[str, str], str] = {
    ("fail", "fail"): "fail",
    ("fail", "pass"): "fail",
    ("fail", "distinction"): "fail",
    ("pass", "fail"): "fail",
    ("pass", "pass"): "pass",
    ("pass", "distinction"): "pass",
    ("distinction", "fail"): "fail",
    ("distinction", "pass"): "merit",
    ("distinction", "distinction"): "distinction",
}


def overall(am1: str, am2: str) -> str | None:
    """The overall grade, or None when either grade is not a final one (undetermined, not entered)."""
    return OVERALL.get((am1, am2))
