"""Write PyTorch legacy-format state dicts without PyTorch (test helper).

A throw-away ``torch`` module is put in ``sys.modules`` while pickling so the
pickles name ``torch.FloatStorage`` and ``torch._utils._rebuild_tensor_v2`` the
way real files do.
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import sys
import types

import numpy as np

from training.pretrained import LEGACY_MAGIC

_DTYPE_STORAGE = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


@contextlib.contextmanager
def _fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only referenced by name
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in _DTYPE_STORAGE.values():
        storage_class = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, storage_class)
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        yield torch
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module


class _Storage:
    def __init__(self, key: str, array: np.ndarray, storage_type) -> None:
        self.key, self.array, self.storage_type = key, array, storage_type


class _Tensor:
    def __init__(self, storage: _Storage, shape, torch_module) -> None:
        self.storage, self.shape, self.torch = storage, shape, torch_module

    def __reduce__(self):
        stride = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
        return (self.torch._utils._rebuild_tensor_v2,
                (self.storage, 0, tuple(self.shape), stride, False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.storage_type, obj.key, "cpu", obj.array.size)
        return None


def legacy_bytes(state: dict[str, np.ndarray], extra_object=None) -> bytes:
    """Serialise ``state`` in PyTorch's legacy format; ``extra_object`` is pickled into the dict."""
    out = io.BytesIO()
    with _fake_torch() as torch:
        tensors = collections.OrderedDict()
        storages = []
        for index, (name, array) in enumerate(state.items()):
            array = np.ascontiguousarray(array)
            storage = _Storage(str(1000 + index), array.reshape(-1), getattr(torch, _DTYPE_STORAGE[array.dtype]))
            storages.append(storage)
            tensors[name] = _Tensor(storage, array.shape, torch)
        if extra_object is not None:
            tensors["evil"] = extra_object
        for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, out, protocol=2)
        _Pickler(out, protocol=2).dump(tensors)
        pickle.dump([s.key for s in storages], out, protocol=2)
        for storage in storages:
            out.write(np.int64(storage.array.size).tobytes())
            out.write(storage.array.astype(storage.array.dtype.newbyteorder("<")).tobytes())
    return out.getvalue()
