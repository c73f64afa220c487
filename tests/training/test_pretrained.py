"""The offline ImageNet-weights converter: a safe reader and a correct layer mapping."""

import collections
import io
import os
import pickle

import numpy as np
import pytest

from hemotest import legacy_torch
from hemotest.legacy_torch import legacy_bytes
from training import pretrained
from training.pretrained import StateDictError, read_legacy_state_dict


def test_reads_tensors_of_several_dtypes_and_shapes(tmp_path):
    state = {
        "conv.weight": np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) / 7,
        "bn.running_var": np.array([0.5, 2.0], dtype=np.float32),
        "bn.num_batches_tracked": np.array(12345678901, dtype=np.int64),
    }
    path = tmp_path / "w.pth"
    path.write_bytes(legacy_bytes(state))
    loaded = read_legacy_state_dict(path)
    assert list(loaded) == list(state)
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


class _Exploit:
    """Unpickling this would run a shell command with a plain pickle.load."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/hemolens-pwned",))


def test_refuses_anything_but_tensors(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(legacy_bytes({"w": np.zeros(3, np.float32)}, extra_object=_Exploit()))
    with pytest.raises(StateDictError, match="refusing"):
        read_legacy_state_dict(path)


def test_rejects_wrong_magic_and_truncation(tmp_path):
    good = legacy_bytes({"w": np.ones(1000, np.float32)})
    bad_magic = tmp_path / "zip.pth"
    bad_magic.write_bytes(b"PK\x03\x04" + good[4:])
    with pytest.raises(StateDictError):
        read_legacy_state_dict(bad_magic)
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(good[:-100])
    with pytest.raises(StateDictError, match="truncated"):
        read_legacy_state_dict(truncated)


class _CraftedTensor:
    """A tensor pickled with any offset, shape and stride (and any object as its storage)."""

    def __init__(self, storage, offset, shape, stride, torch_module) -> None:
        self.storage, self.offset, self.shape, self.stride, self.torch = storage, offset, shape, stride, torch_module

    def __reduce__(self):
        return (self.torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict()))


def crafted_bytes(values, offset=0, shape=None, stride=None, header_numel=None, storage=None,
                  as_list=False) -> bytes:
    """One float32 tensor over ``values`` in legacy format, its layout and headers as given.

    Defaults give a valid file (a contiguous 1-D tensor), built like ``legacy_bytes``.
    """
    values = np.asarray(values, np.float32)
    out = io.BytesIO()
    with legacy_torch._fake_torch() as torch:
        real = legacy_torch._Storage("1000", values, torch.FloatStorage)
        tensor = _CraftedTensor(real if storage is None else storage, offset,
                                (values.size,) if shape is None else shape, (1,) if stride is None else stride, torch)
        state = [tensor] if as_list else collections.OrderedDict(w=tensor)
        for header in (pretrained.LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, out, protocol=2)
        legacy_torch._Pickler(out, protocol=2).dump(state)
        pickle.dump([real.key], out, protocol=2)
        out.write(np.int64(values.size if header_numel is None else header_numel).tobytes())
        out.write(values.astype("<f4").tobytes())
    return out.getvalue()


def test_crafted_helper_writes_a_readable_file(tmp_path):
    path = tmp_path / "ok.pth"
    path.write_bytes(crafted_bytes(np.arange(6), offset=1, shape=(2, 2), stride=(3, 1)))
    np.testing.assert_array_equal(read_legacy_state_dict(path)["w"], [[1, 2], [4, 5]])
    path.write_bytes(crafted_bytes(np.arange(6), offset=6, shape=(0, 3), stride=(3, 1)))
    assert read_legacy_state_dict(path)["w"].shape == (0, 3)  # empty: reads nothing, so allowed


@pytest.mark.parametrize(
    "layout, message",
    [
        (dict(offset=1, shape=(6,), stride=(1,)), "reaches element 6"),  # one past the end
        (dict(offset=0, shape=(3, 3), stride=(3, 1)), "reaches element 8"),  # rows run past the end
        (dict(offset=0, shape=(2,), stride=(10**9,)), "reaches element"),  # a far stride
        (dict(offset=10**12, shape=(1,), stride=(1,)), "reaches element"),
        (dict(offset=-4, shape=(2,), stride=(1,)), "negative"),
        (dict(offset=5, shape=(2,), stride=(-1,)), "negative"),  # would read below the offset
        (dict(offset=0, shape=(-1,), stride=(1,)), "negative"),
        (dict(offset=0, shape=(2, 3), stride=(3,)), "strides"),
        (dict(offset=0.5, shape=(2,), stride=(1,)), "integers"),
    ],
    ids=["one-past-end", "rows-past-end", "far-stride", "far-offset", "negative-offset", "negative-stride",
         "negative-size", "rank-mismatch", "float-offset"],
)
def test_refuses_tensor_layouts_that_read_outside_the_storage(tmp_path, layout, message):
    path = tmp_path / "crafted.pth"
    path.write_bytes(crafted_bytes(np.arange(6), **layout))
    with pytest.raises(StateDictError, match=message):
        read_legacy_state_dict(path)


def test_refuses_a_storage_whose_header_disagrees_with_its_persistent_id(tmp_path):
    # The pickle promises 6 elements, the header 5: the tensor would read one past the bytes read.
    path = tmp_path / "short.pth"
    path.write_bytes(crafted_bytes(np.arange(6), header_numel=5))
    with pytest.raises(StateDictError, match="header says 5 elements"):
        read_legacy_state_dict(path)
    path.write_bytes(crafted_bytes(np.arange(6), header_numel=-1))  # read(-n) would read to the end
    with pytest.raises(StateDictError, match="header says -1"):
        read_legacy_state_dict(path)


def test_refuses_a_tensor_without_a_storage_and_a_state_that_is_not_a_dict(tmp_path):
    path = tmp_path / "odd.pth"
    path.write_bytes(crafted_bytes(np.arange(6), storage=12345))
    with pytest.raises(StateDictError, match="not to a storage"):
        read_legacy_state_dict(path)
    path.write_bytes(crafted_bytes(np.arange(6), as_list=True))
    with pytest.raises(StateDictError, match="not a dict"):
        read_legacy_state_dict(path)


@pytest.mark.parametrize("variant, blocks", [("lite0", 16), ("lite1", 21)])
def test_block_prefixes_match_the_keras_model(variant, blocks):
    model = pretrained.build_lite(variant, (64, 64, 3))
    names = {layer.name for layer in model.layers}
    prefixes = pretrained.keras_block_prefixes(variant)
    assert len(prefixes) == blocks
    assert all(f"{p}dwconv" in names for p in prefixes)
    # Every depthwise conv in the model is one of the mapped blocks: none is left unconverted.
    assert len([n for n in names if n.endswith("_dwconv")]) == blocks
    # EfficientNet-Lite has no squeeze-excitation.
    assert not any("se_" in name for name in names)


def test_lite1_keeps_the_first_and_last_stage_at_one_block():
    # Lite scales depth without touching the stem and head stages ("fix_head_stem");
    # Keras's own depth scaling would give them two blocks each.
    prefixes = pretrained.keras_block_prefixes("lite1")
    assert [p for p in prefixes if p.startswith("block1")] == ["block1a_"]
    assert [p for p in prefixes if p.startswith("block7")] == ["block7a_"]


def test_a_state_dict_of_another_depth_is_refused():
    state = read_legacy_state_dict(pretrained.default_weights_path("lite0"))
    with pytest.raises(StateDictError, match="16 blocks; EfficientNet-Lite1 has 21"):
        pretrained.keras_weight_map(state, include_top=False, variant="lite1")


def test_unknown_lite_size_is_refused():
    with pytest.raises(ValueError, match="lite0, lite1"):
        pretrained.lite_variant("lite2")


GRACE_HOPPER = os.path.join(
    os.path.dirname(__import__("matplotlib").__file__), "mpl-data", "sample_data", "grace_hopper.jpg"
)
MILITARY_UNIFORM = 652  # ImageNet class index


@pytest.mark.skipif(not os.path.exists(GRACE_HOPPER), reason="matplotlib sample image missing")
@pytest.mark.parametrize("variant, size", [("lite0", 224), ("lite1", 240)])
def test_converted_imagenet_weights_recognise_a_known_image(variant, size):
    """The converted network says 'military uniform' for Grace Hopper, like the reference models."""
    from PIL import Image

    model = pretrained.load_lite_imagenet(variant, (size, size, 3), include_top=True)
    image = Image.open(GRACE_HOPPER).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    probs = np.asarray(model(np.asarray(image, np.float32)[None], training=False))[0]
    assert int(probs.argmax()) == MILITARY_UNIFORM
    assert probs.max() > 0.2
