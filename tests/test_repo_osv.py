"""repo.dependency-audit matches OSV ranges as the OSV schema's evaluation says (its own documented examples)."""

import json

from harness.config import Config
from harness.model import Outcome
from tests.conftest import run_check


def _entry(osv_id, name, ecosystem, *ranges):
    return {
        "id": osv_id,
        "affected": [{"package": {"name": name, "ecosystem": ecosystem}, "ranges": list(ranges)}],
    }


def _audit(make_repo, tmp_path, manifest, text, entries):
    repo = make_repo()
    repo.write(manifest, text).commit("deps")
    adv = tmp_path / "osv.json"
    adv.write_text(json.dumps(entries))
    cfg = Config(base_dir=repo.path)
    cfg.repository.advisory_file = str(adv)
    found = run_check("repo.dependency-audit", repo.path, cfg)
    failing = sorted(f.reason.split(": ", 1)[1].split(" is affected")[0] for f in found if f.outcome is Outcome.FAIL)
    return failing, found


# OSV schema, "last_affected vs fixed example": all versions up to and including 2.1.214 are affected.
LAST_AFFECTED = {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.1.214"}]}


def test_last_affected_is_inclusive_and_later_versions_are_safe(make_repo, tmp_path):
    entries = [_entry("OSV-LA", name, "PyPI", LAST_AFFECTED) for name in ("alpha", "beta", "gamma")]
    failing, found = _audit(
        make_repo, tmp_path, "requirements.txt", "alpha==2.1.213\nbeta==2.1.214\ngamma==2.1.215\n", entries
    )
    # Old code: 2.1.215 (after the last affected version) was reported vulnerable.
    assert failing == ["alpha 2.1.213", "beta 2.1.214"]
    assert not any("gamma" in f.reason for f in found if f.outcome is Outcome.FAIL)


def test_limit_bounds_a_range(make_repo, tmp_path):
    rng = {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"limit": "2.0"}]}
    entries = [_entry("OSV-LIM", name, "PyPI", rng) for name in ("below", "inside", "at-limit", "above")]
    failing, _ = _audit(
        make_repo, tmp_path, "requirements.txt", "below==0.9\ninside==1.5\nat-limit==2.0\nabove==3.1\n", entries
    )
    # Old code ignored `limit`: everything from 1.0 on was vulnerable.
    assert failing == ["inside 1.5"]


def test_limit_star_is_infinity(make_repo, tmp_path):
    rng = {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"limit": "*"}]}
    entries = [_entry("OSV-STAR", "late", "PyPI", rng)]
    failing, _ = _audit(make_repo, tmp_path, "requirements.txt", "late==9.9\n", entries)
    assert failing == ["late 9.9"]


# OSV schema, "Multiple range example": [1.0.0, 1.0.2) and [3.0.0, 3.2.5) are affected, nothing else.
MULTIPLE = {
    "type": "SEMVER",
    "events": [{"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}],
}


def test_multiple_semver_ranges_npm(make_repo, tmp_path):
    versions = {
        "a": "0.9.0",
        "b": "1.0.0",
        "c": "1.0.2",
        "d": "2.5.0",
        "e": "3.2.4",
        "f": "3.2.5",
        "g": "3.0.0-rc.1",
        "h": "3.1.0-alpha.beta",
    }
    pkg = {"name": "app", "version": "1.0.0", "dependencies": versions}
    entries = [_entry("OSV-MULTI", name, "npm", MULTIPLE) for name in versions]
    failing, _ = _audit(make_repo, tmp_path, "package.json", json.dumps(pkg), entries)
    # SemVer precedence: 3.0.0-rc.1 comes before 3.0.0, so it is not in [3.0.0, 3.2.5); 3.1.0-alpha.beta
    # is (old code read it as PEP 440, could not, and called it safe).
    assert failing == ["b 1.0.0", "e 3.2.4", "h 3.1.0-alpha.beta"]


def test_unordered_events_and_separate_ranges(make_repo, tmp_path):
    # Events listed out of order are sorted by version first; each range is judged on its own.
    shuffled = {"type": "ECOSYSTEM", "events": [{"fixed": "1.4"}, {"introduced": "1.2"}]}
    other = {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.1"}]}
    entries = [_entry("OSV-SEP", name, "PyPI", shuffled, other) for name in ("p", "q", "r", "s")]
    failing, _ = _audit(make_repo, tmp_path, "requirements.txt", "p==1.1\nq==1.3\nr==1.9\ns==2.0.5\n", entries)
    assert failing == ["q 1.3", "s 2.0.5"]


def test_pypi_ecosystem_order_is_pep440(make_repo, tmp_path):
    # PEP 440, not string order: 1.10 > 1.9, and 2.0rc1 comes before 2.0.
    rng = {"type": "ECOSYSTEM", "events": [{"introduced": "1.9"}, {"fixed": "2.0"}]}
    entries = [_entry("OSV-PEP", name, "PyPI", rng) for name in ("m", "n")]
    failing, _ = _audit(make_repo, tmp_path, "requirements.txt", "m==1.10\nn==2.0rc1\n", entries)
    assert failing == ["m 1.10", "n 2.0rc1"]


def test_package_lock_pins_keep_their_lines(make_repo, tmp_path):
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "dependencies": {"left-pad": "^1.3.0"}},
            "node_modules/left-pad": {"version": "1.3.0"},
            "node_modules/lodash": {"version": "4.17.20"},
        },
    }
    rng = {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}
    failing, found = _audit(
        make_repo, tmp_path, "package-lock.json", json.dumps(lock, indent=2), [_entry("OSV-LOD", "lodash", "npm", rng)]
    )
    assert failing == ["lodash 4.17.20"]
    [f] = [f for f in found if f.outcome is Outcome.FAIL]
    # The pin's own line: "node_modules/lodash" is line 14 of the indented lock file.
    assert "package-lock.json:14" in f.reason and f.evidence[0].start_line == 14
