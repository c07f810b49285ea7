#!/usr/bin/env bash
# WeasyPrint (PDF reports) loads Pango, HarfBuzz and fontconfig at run time.
# Install any that are missing when we can (root on Debian); otherwise say exactly what to run.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "${1:-}" = "--with-test-tools" ]; then
  packages+=(poppler-utils)   # pdftoppm/pdftotext, used by the PDF tests
  packages+=(chromium)        # the web form's browser tests (Playwright drives Debian's Chromium)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "note: not a Debian-like system; make sure Pango, HarfBuzz (with hb-subset) and a sans font are installed for PDF output." >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system libraries: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system libraries. Run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
