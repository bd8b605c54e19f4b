"""luxlog: a resilient, read-only data logger for Luxtronik 2.x heat-pump controllers.

The public Python API is re-exported lazily so that ``import luxlog`` stays cheap on the
poll path (the decoder and its luxtronik definitions are only imported when used).
"""

from __future__ import annotations

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__version__ = "0.1.0"
__all__ = ["HeatPumpClient", "Store", "__version__"]

if TYPE_CHECKING:
    from luxlog.client import HeatPumpClient
    from luxlog.store import Store


def __getattr__(name: str) -> Any:
    if name == "Store":
        from luxlog.store import Store

        return Store
    if name == "HeatPumpClient":
        from luxlog.client import HeatPumpClient

        return HeatPumpClient
    raise AttributeError(name)
