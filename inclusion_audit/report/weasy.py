"""Import WeasyPrint without its slow search for the system libraries.

WeasyPrint loads GObject, Pango, HarfBuzz and fontconfig with cffi's ``dlopen``,
trying several names for each library (the Windows and macOS names too, in an
order that puts them first). For a name that is not a path, cffi asks
``ctypes.util.find_library``, which on Linux runs ``ldconfig -p`` and, when the
name is not there, a C compiler (``gcc -Wl,-t``) and ``ld``: WeasyPrint 70 asks
for 22 names, 16 of them fail, and the ~50 processes cost 0.25 s of the typical
event's PDF on a quiet machine and up to 0.8 s under load, before a page is laid
out. Here ``find_library`` answers from one ``ldconfig -p`` for the length of the
import, as its first step does. A library ``ldconfig`` does not list is left to the
real search when ``LD_LIBRARY_PATH`` is set (the one place ``dlopen`` looks that
``ldconfig`` does not cover), and if the import fails anyway it is tried again
without the shortcut, so the shortcut can make the import faster but never stop it.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import re
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

# The C library ABI ldconfig names, as ctypes.util matches it (so that a 32-bit
# library is not picked for a 64-bit Python).
_ABI = {
    "x86_64-64": "libc6,x86-64",
    "ppc64-64": "libc6,64bit",
    "sparc64-64": "libc6,64bit",
    "s390x-64": "libc6,64bit",
    "ia64-64": "libc6,IA-64",
}


_IMPORTING = threading.Lock()
"""One import at a time: two threads swapping ``find_library`` could leave the shortcut in."""


def import_weasyprint() -> ModuleType:
    """``import weasyprint``, with the library search answered from ``ldconfig -p``."""
    with _IMPORTING:
        if "weasyprint" not in sys.modules:
            try:
                with _libraries_from_ldconfig():
                    import weasyprint
            except OSError:
                # A library the shortcut did not find: forget the half-done import and let
                # WeasyPrint search as it always does (and say what is missing, if anything).
                for name in [m for m in sys.modules if m.partition(".")[0] == "weasyprint"]:
                    del sys.modules[name]
    import weasyprint  # noqa: F401

    return sys.modules["weasyprint"]


@contextlib.contextmanager
def _libraries_from_ldconfig() -> Iterator[None]:
    listing = _ldconfig_listing() if sys.platform.startswith("linux") else None
    if listing is None:
        yield
        return
    original = ctypes.util.find_library
    setattr(ctypes.util, "find_library", _finder(listing, original))  # noqa: B010
    try:
        yield
    finally:
        setattr(ctypes.util, "find_library", original)  # noqa: B010


def _finder(listing: str, original: Callable[[str], str | None]) -> Callable[[str], str | None]:
    bits = "-32" if struct.calcsize("l") == 4 else "-64"
    abi = _ABI.get(os.uname().machine + bits, "libc6")
    searched = bool(os.environ.get("LD_LIBRARY_PATH"))

    def find_library(name: str) -> str | None:
        found = re.search(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({re.escape(abi)}", listing)
        if found:
            return found.group(1)
        return original(name) if searched else None

    return find_library


def _ldconfig_listing() -> str | None:
    """The dynamic linker's cache as ``ldconfig -p`` lists it; None if it cannot."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            done = subprocess.run(
                [ldconfig, "-p"],
                stdin=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env={"LC_ALL": "C", "LANG": "C"},
                check=False,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and done.stdout:
            return os.fsdecode(done.stdout)
    return None
