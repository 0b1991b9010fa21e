"""The cache of pure results: keyed by content, saved per build, pruned, and never trusted blindly."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from sitegen import cache, markup
from sitegen.taxonomy import load_taxonomy, site_taxonomy


def test_memo_computes_once_and_returns_fresh_objects() -> None:
    store = cache.Cache()
    calls: list[str] = []

    def compute() -> dict[str, list[int]]:
        calls.append("x")
        return {"a": [1]}

    first = store.memo("ns", ("text",), compute)
    first["a"].append(2)  # a caller mutating its copy must not change the cached value
    second = store.memo("ns", ("text",), compute)
    assert calls == ["x"]
    assert second == {"a": [1]}
    assert (store.hits, store.misses) == (1, 1)


def test_keys_separate_namespaces_and_parts() -> None:
    store = cache.Cache()
    assert store.key("a", "xy") != store.key("b", "xy")
    assert store.key("a", "x", "y") != store.key("a", "xy")
    assert store.key("a", "x", "y") == store.key("a", "x", "y")


def test_saved_cache_serves_the_next_build_and_drops_unused_entries(tmp_path: Path) -> None:
    folder = tmp_path / cache.FOLDER
    first = cache.Cache(folder)
    first.memo("ns", ("kept",), lambda: "K")
    first.memo("ns", ("dropped",), lambda: "D")
    first.save()
    assert (folder / ".gitignore").read_text().strip().endswith("*")

    second = cache.Cache(folder)
    assert second.memo("ns", ("kept",), lambda: "recomputed") == "K"
    second.save()

    third = cache.Cache(folder)
    assert third.has("ns", ("kept",))
    assert not third.has("ns", ("dropped",))


def test_a_retained_table_keeps_the_entries_this_build_did_not_use(tmp_path: Path) -> None:
    folder = tmp_path / cache.FOLDER
    first = cache.Cache(folder)
    for name in ("kept", "unused", "other"):
        first.memo("ns", (name,), lambda name=name: name.upper())
        first.memo("plain", (name,), lambda name=name: name.upper())
    first.save()

    lazy = cache.Cache(folder)
    lazy.retain("ns")
    assert lazy.memo("ns", ("kept",), lambda: "recomputed") == "KEPT"
    lazy.memo("ns", ("new",), lambda: "NEW")
    assert lazy.memo("plain", ("kept",), lambda: "recomputed") == "KEPT"
    lazy.save()

    later = cache.Cache(folder)
    assert all(later.has("ns", (name,)) for name in ("kept", "unused", "other", "new"))
    # Only the retained table: the other keeps exactly what was used, as before.
    assert later.has("plain", ("kept",)) and not later.has("plain", ("unused",))


def test_a_released_table_is_saved_then_read_back_whole(tmp_path: Path) -> None:
    folder = tmp_path / cache.FOLDER
    store = cache.Cache(folder)
    store.memo("ns", ("a",), lambda: "A")
    store.memo("other", ("x",), lambda: "X")
    store.release("ns")
    assert (folder / "ns.pickle").is_file()  # saved at once, before the build ends
    assert not (folder / "other.pickle").exists()
    # Looked up again (a late stage), it is read back, not recomputed; and what this build
    # adds after the release is kept with what it had used before.
    assert store.memo("ns", ("a",), lambda: "recomputed") == "A"
    store.memo("ns", ("b",), lambda: "B")
    store.save()

    later = cache.Cache(folder)
    assert later.has("ns", ("a",)) and later.has("ns", ("b",)) and later.has("other", ("x",))


def test_damaged_or_foreign_cache_files_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / cache.FOLDER
    folder.mkdir()
    (folder / "ns.pickle").write_bytes(b"not a pickle")
    assert cache.Cache(folder).memo("ns", ("t",), lambda: 1) == 1
    # Written by another version of sitegen: a different salt, so nothing is reused.
    stale = {"salt": b"other", "entries": {cache.Cache().key("ns", "t"): pickle.dumps(99)}}
    (folder / "ns.pickle").write_bytes(pickle.dumps(stale))
    assert cache.Cache(folder).memo("ns", ("t",), lambda: 1) == 1


def test_markup_goes_through_the_active_cache() -> None:
    store = cache.Cache()
    text = "A *fresh* abstract with \\url{https://example.org/x}."
    with cache.using(store):
        html = markup.default_renderer().block(text)
        assert store.has("markdown-block", (text,))
        assert markup.default_renderer().block(text) == html
    assert store.hits == 1
    assert '<a href="https://example.org/x">' in html


def test_fingerprint_follows_the_math_libraries_and_the_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = cache._code_fingerprint()
    real_version = cache.metadata.version
    for library in ("pylatexenc", "latex2mathml"):
        monkeypatch.setattr(
            cache.metadata,
            "version",
            lambda name, lib=library: "0.0-other" if name == lib else real_version(name),
        )
        assert cache._code_fingerprint() != before, library
    monkeypatch.setattr(cache.metadata, "version", real_version)
    assert cache._code_fingerprint() == before
    monkeypatch.setattr(cache.sys, "version_info", (3, 99, 0, "final", 0))
    assert cache._code_fingerprint() != before


def test_tag_cache_key_is_the_taxonomys_own_rules_digest() -> None:
    default = load_taxonomy(None)
    assert load_taxonomy(None).digest == default.digest  # equal rules, equal key in a new object
    first = default.rules[0]
    retuned = site_taxonomy(None, (replace(first, threshold=first.threshold + 1),))
    assert retuned.rules != default.rules
    assert retuned.digest != default.digest
