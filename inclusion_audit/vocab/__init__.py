"""The shared vocabulary, the bottom layer: categories, labels, synonyms and folding.

Every stage names groups by the exact ONS categories; this package is where those
names, their hierarchy (detailed within broad), the wordings forms use for them,
and the folding that compares answers live. ``data/`` holds the curated knowledge
as TOML, each entry with its source.

Modules: ``folding`` (case, spacing, declined answers), ``answer_keys`` (comparison
keys for answers), ``ages`` (ages and age bands as people type them), ``knowledge``
(loading and checking ``data/*.toml`` and the prebuilt index), ``classifications``
(placing an answer in a category), ``columns`` (recognising a column from its header).

Imports: nothing of the package but the base modules (``errors``, ``paths``,
``config``, ``result``).
"""
