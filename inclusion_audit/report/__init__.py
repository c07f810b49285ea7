"""Report: disclosure control first, then rendering.

``disclosure`` decides what a shared output may show (it sees the whole result,
recommendations included); ``render`` writes HTML, Markdown, CSV and PDF through
Jinja2 templates, with ``context`` (the documented template contract),
``charts`` (chart geometry) and ``formatters`` (numbers and status words);
``weasy`` imports WeasyPrint for the PDF; ``outputs`` plans and writes files atomically.

Imports: every layer below (``vocab`` … ``action``) and the base modules.
"""
