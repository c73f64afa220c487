"""The training command line: configuration overrides and clear errors."""

import pytest

from training.cli import _parser, config_from_args, main, parse_settings


def test_set_overrides_any_key_with_its_type():
    args = _parser().parse_args([
        "train", "--set", "stage3_epochs=10", "--set", "stage3_lr=5e-5", "--set", "class-weighting=false",
        "--set", "stage3_unfreeze_from=block3a_",
    ])
    config = config_from_args(args)
    assert config.stage3_epochs == 10 and isinstance(config.stage3_epochs, int)
    assert config.stage3_lr == pytest.approx(5e-5)
    assert config.class_weighting is False
    assert config.stage3_unfreeze_from == "block3a_"
    assert config.stage2_epochs == 20  # the rest still comes from the default TOML file


def test_named_flags_win_over_set():
    args = _parser().parse_args(["train", "--set", "seed=1", "--seed", "7"])
    assert config_from_args(args).seed == 7


@pytest.mark.parametrize("item", ["stage3_epochs", "=3"])
def test_malformed_set_is_refused(item):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_settings([item])


def test_unknown_key_exits_2_with_its_name(capsys):
    assert main(["train", "--set", "stage4_epochs=3"]) == 2
    assert "stage4_epochs" in capsys.readouterr().err
