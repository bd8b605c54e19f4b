"""``luxlog push``: ship the samples not yet delivered to a central PostgreSQL/TimescaleDB.

The local SQLite store stays the source of truth; the central database is fed from it,
exactly once (see ``run``). Modules: ``identity`` (site, target, password; no driver),
``connect`` (psycopg, the ``push`` extra, errors as one line), ``schema`` (central
migrations, sensors, TimescaleDB), ``source`` (pending local samples in batches), ``send``
(one batch in one central transaction; daily figures), ``run`` (the orchestration).
"""
