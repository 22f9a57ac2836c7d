"""Starting a camera worker without re-running the parent's main script in it.

A spawned process first re-imports the parent's ``__main__`` (the ``hotspot`` script, a test
runner, a benchmark), so that objects defined there can be unpickled. For ``hotspot run``
that meant the whole command line, SQLAlchemy and the service's libraries, about 35 MB in
every camera worker that needs none of it. ``multiprocessing`` leaves the main module alone
when its spec names a package's ``__main__``, so the spec says that while a worker starts;
the worker's entry point is a plain module function and needs nothing from the parent's main.
"""

from __future__ import annotations

import sys
import threading
from importlib.machinery import ModuleSpec
from multiprocessing.process import BaseProcess

_LOCK = threading.Lock()
_NOT_IMPORTED = ModuleSpec("monitor.__main__", None)


def start_without_main(process: BaseProcess) -> None:
    main = sys.modules["__main__"]
    with _LOCK:
        saved = getattr(main, "__spec__", None)
        main.__spec__ = _NOT_IMPORTED
        try:
            process.start()
        finally:
            main.__spec__ = saved
