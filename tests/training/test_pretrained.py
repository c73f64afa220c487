"""The offline ImageNet-weights converter: a safe reader and a correct layer mapping."""

import os

import numpy as np
import pytest

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


def test_block_prefixes_match_keras_lite0():
    model = pretrained.build_lite0((64, 64, 3))
    names = {layer.name for layer in model.layers}
    prefixes = pretrained.keras_block_prefixes()
    assert len(prefixes) == 16
    assert all(f"{p}dwconv" in names for p in prefixes)
    # Lite0 has no squeeze-excitation.
    assert not any("se_" in name for name in names)


GRACE_HOPPER = os.path.join(
    os.path.dirname(__import__("matplotlib").__file__), "mpl-data", "sample_data", "grace_hopper.jpg"
)
MILITARY_UNIFORM = 652  # ImageNet class index


@pytest.mark.skipif(not os.path.exists(GRACE_HOPPER), reason="matplotlib sample image missing")
def test_converted_imagenet_weights_recognise_a_known_image():
    """The converted network says 'military uniform' for Grace Hopper, like the reference models."""
    from PIL import Image

    model = pretrained.load_lite0_imagenet((224, 224, 3), include_top=True)
    image = Image.open(GRACE_HOPPER).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
    probs = np.asarray(model(np.asarray(image, np.float32)[None], training=False))[0]
    assert int(probs.argmax()) == MILITARY_UNIFORM
    assert probs.max() > 0.2
