"""ACK cookies: the 16-bit TRAP data that marks a trap as an ACK report.

``ACK(d)`` compiles to ``SECCOMP_RET_TRAP | cookie``.  The cookie indexes a
process-wide table owned by the runtime, whose entry holds ``d``; a SIGSYS
whose cookie is not in the table belongs to someone else (another library's
TRAP rule) and is passed on.  Cookies are allocated from 0xFFFF downwards, one
per distinct ACK data value, and never freed (a filter can never be
removed).  Cookie 0 is never used.  A TRAP rule whose data equals an
allocated cookie is refused by the compiler, since its SIGSYS would be taken
for an ACK report.

Forked children inherit the table, as they inherit the filter.
"""

import threading
from typing import Dict

from .errors import RuleError

_lock = threading.Lock()
_by_data: Dict[int, int] = {}
_next = 0xFFFF


def _register_with_runtime(cookie: int, data: int) -> None:
    from . import _runtime
    _runtime.register_cookie(cookie, data)


def cookie_for(data: int) -> int:
    """Return the cookie for ACK ``data`` (1..0xFFFF), allocating one."""
    global _next
    if not 1 <= data <= 0xFFFF:
        raise RuleError(f"ACK data {data} has no cookie (1..65535)")
    with _lock:
        cookie = _by_data.get(data)
        if cookie is None:
            if _next == 0:
                raise RuleError("all 65535 ACK cookies are in use")
            cookie = _next
            _register_with_runtime(cookie, data)
            _by_data[data] = cookie
            _next -= 1
        return cookie


_guard = None


def guard_cookie() -> int:
    """The cookie of the compiler's guard rules (codegen.GUARDED): the
    runtime emulates those calls but does not report them."""
    global _guard, _next
    with _lock:
        if _guard is None:
            if _next == 0:
                raise RuleError("all 65535 ACK cookies are in use")
            from . import _runtime
            _runtime.register_cookie(_next, 0, True)
            _guard = _next
            _next -= 1
        return _guard


def is_cookie(value: int) -> bool:
    """True if ``value`` (TRAP data) is an allocated ACK cookie."""
    with _lock:
        return value > _next and value <= 0xFFFF


def data_for(cookie: int) -> int:
    """Return the ACK data of an allocated ``cookie`` (0 for the guard)."""
    with _lock:
        if cookie == _guard:
            return 0
        for data, c in _by_data.items():
            if c == cookie:
                return data
    raise RuleError(f"{cookie:#x} is not an ACK cookie")
