"""RepoSnapshot.blobs: every file's bytes at HEAD, in the caller's order, streamed from one git process."""

from harness.probes import repository
from tests.conftest import git


def test_blobs_in_order_with_shared_contents_a_cached_file_and_a_missing_object(make_repo):
    repo = make_repo()
    contents = {"a.txt": "same\n", "b/c.txt": "other\n", "d.txt": "same\n", "e.txt": "gone\n", "f.txt": "last\n"}
    for path, text in contents.items():
        repo.write(path, text)
    repo.commit("files")
    gone = git(repo.path, "rev-parse", "HEAD:e.txt")
    (repo.path / ".git" / "objects" / gone[:2] / gone[2:]).unlink()  # a partial clone lacks blobs like this
    snap = repository.snapshot(repo.path)
    snap.CACHE_BUDGET = 0  # nothing prefetched: every read goes through the stream
    assert snap.read_bytes("b/c.txt") == b"other\n"  # an on-demand read beside the stream
    files = [snap.get(p) for p in ["f.txt", "a.txt", "e.txt", "d.txt", "b/c.txt", "a.txt"]]
    got = [(f.path, data) for f, data in snap.blobs([f for f in files if f])]
    assert got == [
        ("f.txt", b"last\n"),
        ("a.txt", b"same\n"),
        ("e.txt", None),
        ("d.txt", b"same\n"),
        ("b/c.txt", b"other\n"),
        ("a.txt", b"same\n"),
    ]
    assert [f.path for f, _ in snap.texts([f for f in files if f])] == ["f.txt", "a.txt", "d.txt", "b/c.txt", "a.txt"]
