"""WeasyPrint's import with the library search answered from ``ldconfig -p``."""

from __future__ import annotations

import ctypes.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from inclusion_audit.report import weasy

LISTING = """\t3 libs found in cache `/etc/ld.so.cache'
\tlibpango-1.0.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libpango-1.0.so.0
\tlibpango-1.0.so.0 (libc6) => /lib/i386-linux-gnu/libpango-1.0.so.0
\tlibharfbuzz.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libharfbuzz.so.0
"""


def never(name: str) -> str | None:
    raise AssertionError(f"the slow search ran for {name}")


@pytest.mark.skipif(sys.maxsize < 2**32 or not sys.platform.startswith("linux"), reason="64-bit")
def test_names_are_answered_from_the_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weasy.os, "uname", lambda: type("U", (), {"machine": "x86_64"})())
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    find = weasy._finder(LISTING, never)
    assert find("pango-1.0") == "libpango-1.0.so.0"
    assert find("harfbuzz") == "libharfbuzz.so.0"
    # Windows' and macOS' names, and names with "lib" twice, fail at once.
    for name in ("libpango-1.0-0", "pango-1.0-0", "libharfbuzz.0.dylib", "harfbuzz-0.dll"):
        assert find(name) is None


def test_a_name_ldconfig_lacks_is_searched_for_where_ld_library_path_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/pango/lib")
    find = weasy._finder(LISTING, lambda name: f"lib{name}.so.9")
    assert find("harfbuzz-vector") == "libharfbuzz-vector.so.9"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldconfig is Linux's")
def test_the_listing_gives_what_ctypes_finds() -> None:
    listing = weasy._ldconfig_listing()
    assert listing is not None
    find = weasy._finder(listing, never if "LD_LIBRARY_PATH" not in weasy.os.environ else str)
    for name in ("c", "m", "pango-1.0", "harfbuzz", "fontconfig", "gobject-2.0"):
        assert find(name) == ctypes.util.find_library(name)


def test_the_import_is_tried_again_the_usual_way_when_the_shortcut_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first: list[object] = []

    @contextmanager
    def failing() -> Iterator[None]:
        # WeasyPrint raises OSError when no name of a library loads.
        yield
        first.append(sys.modules["weasyprint"])
        raise OSError("cannot load library 'pango-1.0-0'")

    # A fresh import in this process; monkeypatch puts the old modules back afterwards.
    for name in [m for m in sys.modules if m.partition(".")[0] == "weasyprint"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(weasy, "_libraries_from_ldconfig", failing)
    module = weasy.import_weasyprint()
    assert first and module is not first[0]
    assert module.HTML is not None and sys.modules["weasyprint.text.ffi"].pango is not None
