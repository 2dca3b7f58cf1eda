"""Restricted unpickling of annotation files (MSVD ``raw-captions.pkl``, AVA dense proposals ``.pkl``).

A pickle can call any importable function while it loads; these loaders resolve only an allow-list of
globals and refuse everything else *before* importing it:

* always: builtin containers and scalars (``dict, list, tuple, set, frozenset, str, bytes, int, float,
  bool``, ``collections.OrderedDict``);
* with ``numpy=True``, exactly what a pickled numeric ``numpy.ndarray`` needs, under its numpy 1 and numpy 2
  module names: ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct`` (protocols
  2-4), ``numpy.core.numeric._frombuffer`` / ``numpy._core.numeric._frombuffer`` (protocol 5),
  ``numpy.ndarray``, ``numpy.dtype`` (object dtypes refused) and ``_codecs.encode`` (array bytes written by
  Python 3 with protocol 2). None of these runs code named by the file; object arrays are refused.

:func:`dump_numpy_pickle` writes arrays the other way round, naming numpy's array builder by its numpy 1 path
(``numpy.core.multiarray._reconstruct``, as the released AVA proposals do), so that numpy 1.x (which has no
``numpy._core``) and numpy 2.x (which maps the old name) both load the file.
"""
from __future__ import annotations

import pickle
from typing import IO, Any

__all__ = ["RestrictedUnpickler", "restricted_load", "dump_numpy_pickle", "PLAIN_GLOBALS", "NUMPY_GLOBALS"]

PLAIN_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool")}
    | {("collections", "OrderedDict")})
NUMPY_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


def _numpy_global(module: str, name: str) -> Any:
    import numpy as np

    if (module, name) == ("numpy", "ndarray"):
        return np.ndarray
    if (module, name) == ("numpy", "dtype"):
        return _numeric_dtype
    if (module, name) == ("_codecs", "encode"):
        import codecs

        return codecs.encode
    # numpy 2 keeps the numpy 1 names as deprecated aliases of numpy._core; use the real module when present
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    return getattr(multiarray if module.endswith("multiarray") else numeric, name)


def _numeric_dtype(*args: Any) -> Any:
    """``numpy.dtype(*args)`` refusing dtypes that hold Python objects."""
    import numpy as np

    dt = np.dtype(*args)
    if dt.hasobject:
        raise pickle.UnpicklingError(f"numpy dtype {dt} holds Python objects, which is not allowed")
    return dt


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers and strings (and numeric numpy arrays with ``numpy=True``):
    any other global (a class or function a malicious pickle could call) is refused before it is imported."""

    def __init__(self, file: IO[bytes], *, numpy: bool = False, encoding: str = "utf-8") -> None:
        super().__init__(file, encoding=encoding)
        self.numpy = numpy

    def find_class(self, module: str, name: str) -> Any:
        module = {"__builtin__": "builtins"}.get(module, module)  # Python 2 pickles
        if (module, name) in PLAIN_GLOBALS:
            return super().find_class(module, name)
        if self.numpy and (module, name) in NUMPY_GLOBALS:
            return _numpy_global(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")


def restricted_load(file: IO[bytes], *, numpy: bool = False, encoding: str | None = None) -> Any:
    """Load one pickle from a binary file with :class:`RestrictedUnpickler`. ``encoding`` decodes Python 2
    ``str`` (default ``latin1`` with ``numpy=True``, as numpy arrays written by Python 2 need, else
    ``utf-8``)."""
    enc = encoding or ("latin1" if numpy else "utf-8")
    return RestrictedUnpickler(file, numpy=numpy, encoding=enc).load()


class _Numpy1NamesPickler(pickle._Pickler):  # the pure-Python pickler: its save_global can be specialised
    """Pickler that writes ``numpy._core.multiarray._reconstruct`` under its numpy 1 name."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is _numpy_global("numpy.core.multiarray", "_reconstruct"):
            if self.proto >= 4:
                self.save("numpy.core.multiarray")
                self.save("_reconstruct")
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def dump_numpy_pickle(obj: Any, file: IO[bytes], protocol: int = 4) -> None:
    """Pickle ``obj`` (containers of numeric numpy arrays) so that numpy 1.x and 2.x both load it: arrays are
    rebuilt by ``numpy.core.multiarray._reconstruct`` (protocol <= 4; protocol 5 would need
    ``numpy._core.numeric._frombuffer``, which numpy 1 lacks). Readable by :func:`restricted_load`
    (``numpy=True``) and by a plain ``pickle.load``."""
    if not 2 <= protocol <= 4:
        raise ValueError(f"protocol must be 2, 3 or 4 (numpy 1 cannot read numpy 2's protocol-5 arrays), got {protocol}")
    _Numpy1NamesPickler(file, protocol=protocol).dump(obj)
