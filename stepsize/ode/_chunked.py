"""``solve_ensemble`` in chunks: on a Dask cluster (``client=``) and/or checkpointed
(``checkpoint=``), through the chunk driver both ensembles share (:mod:`stepsize._chunks`).

A chunk is ``solve_ensemble`` itself on rows ``[lo, hi)`` of ``Y0`` with the same options (run on
a worker by :func:`solve_chunk`); every member runs its own loop, so the joined chunks equal the
local run member for member.  The checkpoint is one ``.npz`` file holding the finished members
and the run's fingerprint (``Y0``, ``fun`` by name and bytecode, every option).
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from stepsize._atomic import save_checkpoint
from stepsize._chunks import Store, checked_load, fingerprint, run_chunks
from stepsize.ode._ensemble_result import EnsembleResult

ARRAYS = ("y", "status", "nfev", "naccept", "nreject")


def solve_chunk(solve, fun, t_span, Y0, options):
    """``solve(fun, t_span, Y0, **options)`` (``solve`` is ``solve_ensemble``): what a Dask
    worker runs for a chunk."""
    return solve(fun, t_span, Y0, **options)


def solve_chunked(solve, fun, t_span, Y0, options, chunks, client, path):
    """The members of ``Y0`` (a host array (m, n)) in ``chunks``, each solved by ``solve``
    (``solve_ensemble``) on ``client`` or here, checkpointed at ``path`` (or not, when None);
    the joined :class:`EnsembleResult`."""
    key = None
    if path is not None:
        key = fingerprint((Y0,), describe(fun, t_span, options), label="initial values")
    store = Store(
        lambda: checked_load(path, key, _read),
        lambda res, members: _save(path, key, res, members),
        concat,
        take,
    )
    out, resumed = run_chunks(
        chunks,
        lambda lo, hi: solve_chunk(solve, fun, t_span, Y0[lo:hi], options),
        lambda lo, hi: (solve_chunk, solve, fun, t_span, Y0[lo:hi], options),
        store,
        client,
        checkpoint=path is not None,
    )
    out.stats.update(chunks=len(chunks), distributed=client is not None, resumed=resumed)
    return out


def describe(fun, t_span, options):
    """The settings that fix the results, for the fingerprint: ``fun`` (and event functions) by
    qualified name and the SHA-256 of their bytecode and constants, arrays by shape and the
    SHA-256 of their values, ``t_span`` and every other option as it is."""
    entries = {"fun": _plain_value(fun), "t_span": [float(t) for t in t_span]}
    for k, v in sorted(options.items()):
        entries[k] = _plain_value(v)
    return entries


def _plain_value(v):
    """``v`` as JSON-able data that is the same in every process (no addresses)."""
    if isinstance(v, np.ndarray):
        data = np.ascontiguousarray(v)
        return f"array {data.dtype.str} {data.shape} sha256 {_sha(data.tobytes())}"
    if isinstance(v, tuple | list):
        return [_plain_value(x) for x in v]
    if callable(v) and not isinstance(v, type):
        py = getattr(v, "py_func", v)
        code = getattr(py, "__code__", None)
        digest = _sha(code.co_code + repr(code.co_consts).encode()) if code else "?"
        module = getattr(py, "__module__", "?")
        name = getattr(py, "__qualname__", type(py).__name__)
        return f"{module}.{name} sha256 {digest}"
    if v is None or isinstance(v, str | bool | int | float):
        return v
    return repr(v)


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def concat(parts):
    """One EnsembleResult from those of consecutive chunks."""
    first = parts[0]
    fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in ARRAYS}
    return EnsembleResult(
        t=first.t,
        message=[msg for p in parts for msg in p.message],
        success=all(p.success for p in parts),
        stats=dict(first.stats),
        **fields,
    )


def take(res, index):
    """The members ``index`` of ``res``, in that order."""
    return EnsembleResult(
        t=res.t,
        message=[res.message[k] for k in index],
        success=bool(np.all(res.status[index] >= 0)),
        stats=dict(res.stats),
        **{name: getattr(res, name)[index] for name in ARRAYS},
    )


def _save(path, key, res, members):
    data = {name: getattr(res, name) for name in ARRAYS}
    data.update(t=res.t, message=np.array(res.message), members=np.asarray(members))
    data["stats"] = np.array(json.dumps(res.stats, default=_plain))
    save_checkpoint(path, lambda fh: np.savez(fh, fingerprint=np.array(key), **data))


def _read(file):
    with Path(file).open("rb") as fh, np.load(fh) as f:
        fields = {name: f[name] for name in ARRAYS}
        res = EnsembleResult(
            t=f["t"],
            message=[str(m) for m in f["message"]],
            success=bool(np.all(f["status"] >= 0)),
            stats=json.loads(str(f["stats"])),
            **fields,
        )
        return str(f["fingerprint"]), (res, f["members"])


def _plain(value):
    return value.item() if hasattr(value, "item") else repr(value)
