"""The reference-data build, split by source; run it with ``scripts/build_reference_data.py``.

Not part of the installed package: it needs the raw files of ``../shared``.
"""
