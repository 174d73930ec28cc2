"""checkout.state hashes the working tree with `git hash-object --no-filters`: raw bytes, no project filter runs."""

from pathlib import Path
from typing import Any

from harness import checkout
from tests.conftest import git


def test_same_size_edits_and_odd_names_are_found_without_running_a_filter(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.write("a.txt", "one\n").write("b.txt", "two\n").write("line\nbreak.txt", "x\n").write('"q.txt', "q\n")
    repo.write(".gitattributes", "*.txt filter=trap\n").commit("first")
    marker = tmp_path / "ran"
    git(repo.path, "config", "filter.trap.clean", f"touch {marker}; cat")
    (repo.path / "b.txt").write_text("owt\n")  # same size: only the hash tells
    (repo.path / "line\nbreak.txt").write_text("y\n")
    (repo.path / '"q.txt').write_text("Q\n")
    state = checkout.state(repo.path)
    assert sorted(state["changed_sample"]) == ['"q.txt', "b.txt", "line\nbreak.txt"]
    assert state["compared_all"] is True
    assert not marker.exists()
