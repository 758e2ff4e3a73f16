"""The company register the checks consult: the local table or the KVK API (see ``source``).

The checks see only ``RegisterSource.lookup``; ``make_register`` picks the configured one.
"""

from gateway.register.local import RowError, import_file, read_rows, validate
from gateway.register.source import RegisterSource, StoreRegister, make_register

#: The name the worker used before there were two sources.
Register = RegisterSource

__all__ = [
    "Register",
    "RegisterSource",
    "RowError",
    "StoreRegister",
    "import_file",
    "make_register",
    "read_rows",
    "validate",
]
