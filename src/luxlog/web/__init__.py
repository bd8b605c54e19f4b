"""``luxlog serve``: a read-only web dashboard and JSON/CSV API over the database.

Layering: ``series``, ``now``, ``health`` and ``summary`` are plain data functions over a
read-only store (the HTML report calls ``series`` too) and import no web framework; only
``app``, ``api`` and ``security`` import Starlette, and only ``commands/serve.py`` (lazily)
imports uvicorn. The pages and their scripts live in ``static/``.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
EXTRA_HINT = "luxlog serve needs the web extra: pip install 'luxlog[web]'"
