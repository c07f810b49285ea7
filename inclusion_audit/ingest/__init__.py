"""Ingest: register files in, harmonised columns of categories out.

Readers (CSV in any encoding and delimiter, Excel, Parquet; lazily, read once),
harmonisation (columns recognised, answers placed, ages and dates of birth read),
the user's mapping files, and validation that stops on answers nothing explains.

Imports: ``vocab`` and the base modules.
"""
