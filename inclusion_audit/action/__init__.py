"""Action: from gaps to likely barriers and concrete recommendations.

The event's details (``event``, ``event_yaml``), the barrier knowledge base
(``knowledge`` the typed model, ``knowledge_loader`` reading it,
``knowledge_checks`` its validation), the evaluation of its conditions
(``conditions``), plain words for events and groups (``wording``), the barrier
analysis (``barriers``), what participants reported (``reported``) and the
recommendations (``recommendations``).

Imports: every layer below (``vocab``, ``ingest``, ``reference``, ``stats``,
``findings``) and the base modules; never ``report``: which groups a
recommendation must not reveal is passed in by the caller.
"""
