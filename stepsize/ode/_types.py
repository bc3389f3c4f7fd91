"""Function types of the compiled loop and the interpreted twins of its helpers.

The user's ``rhs(t, y, out)``, ``events(t, y, out)`` and ``jac(t, y, out)`` reach the loop as
first-class functions of the types :data:`FUNC` and :data:`JFUNC`, so the loop compiles once for
all problems.  Helpers that call them back are declared with :func:`calls_back`; for right-hand
sides Numba cannot compile, :func:`python_twin` rebuilds a helper as plain Python (same source)
whose own call-back helpers are twins too, while pure array helpers (LU, norms) stay compiled.
"""

import types as pytypes

import numba
from numba import types
from numba.experimental.function_type import _get_wrapper_address

_f8 = types.float64
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
FUNC = types.FunctionType(types.void(_f8, _vec, _vec))
"""Type of ``rhs(t, y, out)`` and ``events(t, y, out)``."""
JFUNC = types.FunctionType(types.void(_f8, _vec, _mat))
"""Type of ``jac(t, y, out)``: ``out`` is (n, n), or (kl + ku + 1, n) packed band storage."""


class CompiledFunction:
    """A compiled adapter handed to the loop with its type and address worked out once.

    Numba types a ``Dispatcher`` argument of a first-class function type anew on every call
    (~30 us each); an object with ``_numba_type_`` and ``__wrapper_address__`` costs ~4 us.
    """

    def __init__(self, dispatcher, ftype):
        self.dispatcher = dispatcher  # keeps the compiled code alive
        self._numba_type_ = ftype
        self._address = _get_wrapper_address(dispatcher, ftype.signature)

    def __wrapper_address__(self):
        return self._address

    def __call__(self, *args):
        return self.dispatcher(*args)


def compile_adapter(func, ftype):
    """``numba.njit`` ``func`` for the function type ``ftype``, as a :class:`CompiledFunction`."""
    return CompiledFunction(numba.njit(ftype.signature)(func), ftype)


_CALLERS = {}
_TWINS = {}


def calls_back(func):
    """``numba.njit(cache=True)`` for a helper that calls user functions; registers its twin."""
    dispatcher = numba.njit(cache=True)(func)
    _CALLERS[id(dispatcher)] = func
    return dispatcher


def python_twin(func, name=None):
    """Plain-Python version of ``func`` (a function or a :func:`calls_back` dispatcher)."""
    func = _CALLERS.get(id(func), func)
    key = id(func)
    if key not in _TWINS:
        namespace = dict(func.__globals__)
        _TWINS[key] = pytypes.FunctionType(func.__code__, namespace, name or func.__name__)
        for ref in func.__code__.co_names:
            target = namespace.get(ref)
            if id(target) in _CALLERS:
                namespace[ref] = python_twin(target)
    return _TWINS[key]
