"""The prebuilt native modules: used only while their stamp matches firmware/c/, kept when
fresh, and a module that cannot be built says why (in one line, kept for natmod_for)."""

from __future__ import annotations

from chunkalloc_host.mpy import read_file_header
from chunkalloc_host.natmod import FAILED, MODULE, STAMP, prebuilt, source_hash
from chunkalloc_host.prebuilt import prebuild


def test_a_prebuilt_module_is_used_only_while_its_stamp_matches_the_c_source(tmp_path):
    folder = tmp_path / "x64"
    folder.mkdir()
    (folder / f"{MODULE}.mpy").write_bytes(b"M")
    (folder / STAMP).write_text(source_hash() + "\n")
    assert prebuilt("x64", tmp_path) == folder / f"{MODULE}.mpy"
    (folder / STAMP).write_text("0" * 16 + "\n")  # firmware/c/ changed since
    assert prebuilt("x64", tmp_path) is None


def test_a_fresh_module_is_kept_and_one_without_a_source_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("CHUNKALLOC_MICROPYTHON", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # empty: no source cached
    fresh = tmp_path / "out" / "x64"
    fresh.mkdir(parents=True)
    (fresh / f"{MODULE}.mpy").write_bytes(b"M")
    (fresh / STAMP).write_text(source_hash() + "\n")
    failed = prebuild(["x64", "armv6m"], tmp_path / "out")
    assert list(failed) == ["armv6m"] and "no MicroPython source" in failed["armv6m"]
    assert (fresh / f"{MODULE}.mpy").read_bytes() == b"M"  # kept, not rebuilt
    assert (tmp_path / "out" / "armv6m" / FAILED).read_text().strip() == failed["armv6m"]


def test_make_natmods_builds_each_arch_from_the_pinned_source(tmp_path):
    from chunkalloc_host.natmod import available_source, why_not

    archs = [arch for arch in ("x64", "armv6m") if why_not(arch) is None]
    if available_source() is None or not archs:
        import pytest

        pytest.skip("no MicroPython source at hand (CHUNKALLOC_MICROPYTHON) or no compiler")
    assert prebuild(archs, tmp_path) == {}
    for arch in archs:
        assert read_file_header(tmp_path / arch / f"{MODULE}.mpy").arch == arch
        assert prebuilt(arch, tmp_path) is not None
