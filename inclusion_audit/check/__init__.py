"""Check: is a register fit to audit? For pipelines.

``suite`` harmonises a register exactly as ``audit`` does and validates the
harmonised columns with a Great Expectations suite (imported lazily: it is
heavy); ``report`` writes the outcome as text, JSON and JUnit XML.

Imports: every layer below (``vocab`` … ``report``, and ``audit``) and the base
modules; beside ``history``, which it does not import.
"""
