"""Memories: what Engram understands from events (core, episodic, semantic, procedural).

Modules, from pure to stateful:

- ``types``       the values: ``Memory``, ``Candidate``, ``ConsolidationReport``.
- ``text``        sentences, words, extractive summaries (pure).
- ``statements``  first-person statements → facts with subject/attribute/value (pure).
- ``procedures``  numbered steps and shell commands → procedures (pure).
- ``episodes``    events grouped by app/conversation and time gaps → episodes (pure).
- ``rules``       the rule-based builder: events → candidates (pure).
- ``extract``     the model builder: schema-constrained extraction with cited sources.
- ``grounding``   does a memory's content occur in the events it cites (pure).
- ``policy``      add / merge / supersede / ignore for a candidate (pure).
- ``forgetting``  strength on a forgetting curve, reinforcement (pure).
- ``rows``        storage: memory rows, sources, links, history snapshots.
- ``integrate``   applies one batch of candidates inside one write transaction.
- ``consolidate`` the resumable batch loop; ``runner`` runs it in the background.
- ``forget``      what forgetting an event does to the memories built from it.
- ``edits``       a person's edits, deletes and undo.
- ``search``      keyword + vector search over memories, recall reinforcement.

This package deliberately imports nothing at import time: ``core.store.events``
reaches ``core.memory.forget`` from inside the store layer.
"""
