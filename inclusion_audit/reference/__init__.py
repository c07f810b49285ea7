"""Reference populations: what the register is compared with.

The shipped Census 2021 data (``census_data``, ``areas``, ``ages``, ``census``),
a user's population CSV (``profiles``), quota and target files (``targets``), the
choice between them (``sources``), and ``suggest``, which writes a mapping file
for a register against a reference: it lives here, not in ``ingest``, because it
needs the reference's categories.

Imports: ``vocab``, ``ingest`` and the base modules.
"""
