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


def test_large_files_hashed_here_agree_with_git(make_repo: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(checkout, "HASH_HERE_BYTES", 1000)
    repo = make_repo()
    big = "".join(f"row {n}\n" for n in range(3000))  # over the bound, and over one read of the buffer below
    repo.write("data/same.csv", big).write("data/edited.csv", big).write("small.txt", "s\n").commit("data")
    (repo.path / "data/edited.csv").write_text(big.replace("row 2999", "row 2998"))  # same size, other bytes
    hashed_here: list[str] = []
    blob_sha = checkout._blob_sha

    def spy(path: str, size: int, sha256: bool = False) -> str:
        hashed_here.append(Path(path).name)
        return blob_sha(path, size, sha256)

    monkeypatch.setattr(checkout, "_blob_sha", spy)
    state = checkout.state(repo.path)
    assert state["changed_sample"] == ["data/edited.csv"] and state["compared_all"] is True
    assert sorted(hashed_here) == ["edited.csv", "same.csv"]  # the small file went to git
