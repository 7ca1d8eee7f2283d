"""The producers' jobs: what a run does (select, fetch through ``producers.logic``, emit, checkpoint, S3 I/O),
between the thin handlers (``producers/catalog.py`` …) and the adapters. Stores come in as :mod:`.ports` Protocols."""
