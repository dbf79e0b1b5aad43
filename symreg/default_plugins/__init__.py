"""symreg's own plugins, registered the way a third party's would be (as llm's default_plugins).

Each module here holds hook implementations; :mod:`symreg.plugins` registers them by
name before loading the entry points.
"""
from __future__ import annotations

from symreg.default_plugins import models

__all__ = ["models"]
