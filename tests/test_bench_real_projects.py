"""bench/real_projects.py: work trees from a mirror, skipping, the corpus file, and one real comparison."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import RepoBuilder

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "real_projects.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_projects", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_projects"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


rp = _load()


def _mirror(make_repo: Callable[[str], RepoBuilder], tmp_path: Path, name: str = "ada/todo") -> tuple[Path, list[str]]:
    """A three-commit project and a bare mirror of it laid out as the fetch tool leaves it."""
    repo = make_repo("src")
    shas = []
    for i in range(3):
        repo.write("app.py", f"VERSION = {i}\n").write(f"notes/{i}.md", f"# notes {i}\n")
        shas.append(repo.commit(f"change {i}", author="Ada <ada@example.org>"))
    mirrors = tmp_path / "mirrors"
    bare = mirrors / name.replace("/", "+") / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    return mirrors, shas


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout.strip()


def _main(tmp_path: Path, mirrors: Path, corpus_text: str, *options: str) -> int:
    corpus = tmp_path / "corpus.toml"
    corpus.write_text(corpus_text)
    return int(rp.main(["--corpus", str(corpus), "--mirrors", str(mirrors), *options]))


def test_full_and_shallow_trees_hold_the_judged_commit(make_repo: Callable[[str], RepoBuilder], tmp_path: Path) -> None:
    mirrors, shas = _mirror(make_repo, tmp_path)
    mirror = rp.mirror_of(mirrors, "ada/todo")
    judged = shas[1]  # not the tip: the shallow fetch must ask for it by id
    full, shallow = tmp_path / "full", tmp_path / "shallow"
    assert rp.make_tree(mirror, judged, full, False) == (None, 0)
    assert rp.make_tree(mirror, judged, shallow, True) == (None, 0)
    for tree in (full, shallow):
        assert _git(tree, "rev-parse", "HEAD") == judged
        assert (tree / "app.py").read_text() == "VERSION = 1\n"
    assert _git(full, "rev-list", "--count", "HEAD") == "2"
    assert _git(full, "rev-parse", "--is-shallow-repository") == "false"
    assert _git(shallow, "rev-list", "--count", "HEAD") == "1"
    assert _git(shallow, "rev-parse", "--is-shallow-repository") == "true"


def test_blobs_absent_from_the_mirror_are_counted_and_the_rest_written(
    make_repo: Callable[[str], RepoBuilder], tmp_path: Path
) -> None:
    mirrors, shas = _mirror(make_repo, tmp_path)
    mirror = rp.mirror_of(mirrors, "ada/todo")
    blob = _git(mirror, "rev-parse", f"{shas[2]}:notes/2.md")
    (mirror / "objects" / blob[:2] / blob[2:]).unlink()  # as a mirror without its largest files
    tree = tmp_path / "tree"
    problem, absent = rp.make_tree(mirror, shas[2], tree, False)
    assert problem is None
    assert absent == 1
    assert (tree / "app.py").read_text() == "VERSION = 2\n"
    assert (tree / "notes" / "1.md").is_file() and not (tree / "notes" / "2.md").exists()


def test_a_project_without_mirror_or_commit_is_skipped_with_a_line(
    make_repo: Callable[[str], RepoBuilder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirrors, _ = _mirror(make_repo, tmp_path)
    absent, unknown = "0" * 40, "1" * 40
    text = "".join(
        f'[[project]]\nname = "{n}"\ncommit = "{c}"\n' for n, c in [("nobody/absent", absent), ("ada/todo", unknown)]
    )
    assert _main(tmp_path, mirrors, text) == 0
    out = capsys.readouterr()
    assert f"skip nobody/absent: mirror {mirrors / 'nobody+absent' / 'repo'} absent" in out.err
    assert "skip ada/todo: commit 111111111111 not in" in out.err
    assert "load average:" in out.out


def test_corpus_defaults_apply_and_bad_entries_stop_with_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.toml"
    corpus.write_text(
        '[defaults.verdicts]\nCQ-4 = "assessor"\nPR-1 = "undetermined"\n'
        '[[project]]\nname = "ada/todo"\ncommit = "abc"\nverdicts = { CQ-1 = "met", PR-1 = "not_met" }\n'
    )
    (project,) = rp.load_corpus(corpus)
    assert project.verdicts == {"CQ-4": "assessor", "PR-1": "not_met", "CQ-1": "met"}
    corpus.write_text('[[project]]\nname = "ada/todo"\ncommit = "abc"\nverdicts = { CQ-1 = "passed" }\n')
    with pytest.raises(SystemExit, match=r"ada/todo: unknown verdicts .*CQ-1.*passed"):
        rp.load_corpus(corpus)
    corpus.write_text('[[project]]\nname = "todo"\n')
    with pytest.raises(SystemExit, match="project 1 needs"):
        rp.load_corpus(corpus)
    corpus.write_text("[[project]\n")
    with pytest.raises(SystemExit, match="cannot read the corpus"):
        rp.load_corpus(corpus)


def test_agreement_and_the_direction_of_a_disagreement() -> None:
    assert rp.agrees("undetermined", "out_of_scope")
    assert not rp.agrees("met", "out_of_scope")
    assert rp.kind("not_met", "met") == "false pass"
    assert rp.kind("met", "not_met") == "false fail"
    assert rp.kind("not_met", "undetermined") == "harness undecided"
    assert rp.kind("undetermined", "not_met") == "harness decided what the repository cannot tell"


def test_a_real_run_compares_harness_with_the_verdicts(
    make_repo: Callable[[str], RepoBuilder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirrors, shas = _mirror(make_repo, tmp_path)
    saved = tmp_path / "saved"
    # No pipeline is committed, so harness fails CI-1; the verdict says met, on purpose.
    text = (
        f'[[project]]\nname = "ada/todo"\ncommit = "{shas[2]}"\n'
        'verdicts = { CI-1 = "met", PR-1 = "undetermined" }\n[project.reasons]\nCI-1 = "deliberately wrong"\n'
    )
    assert _main(tmp_path, mirrors, text, "--details", "--save", str(saved)) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("ada/todo"))
    assert row.split()[1:3] == ["1", "1"]  # PR-1 agrees (out of scope), CI-1 does not
    assert "CI-1   mine=met          harness=not_met" in out
    assert "my reason: deliberately wrong" in out
    assert "disagreements by kind: false fail 1" in out
    assert (saved / "ada+todo.json").is_file()
