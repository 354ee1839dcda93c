"""The command line: a thin layer over `stylize` that saves a PNG with its parameters."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from nst_utils.backbone import load_backbone
from nst_utils.cli import main, parse_style_layers
from workbook import data_path, resources

CONTENT = str(data_path("photos/plaigne_countryside.jpg"))
STYLE = str(data_path("art/the_scream.jpg"))


def test_stylize_writes_png_with_parameters(tmp_path, capsys):
    out = tmp_path / "out.png"
    args = ["stylize", CONTENT, STYLE, "-o", str(out), "--size", "48", "--steps", "3", "--quiet"]
    assert main([*args, "--style-layers", "block1_conv1:0.7,block2_conv1:0.3"]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.size == (48, 27)  # 1024x576 photo
        meta = json.loads(image.text["nst_utils"])
    assert meta["steps"] == 3 and meta["size"] == 48 and meta["backbone"] == "vgg16_hed"
    assert meta["style_layers"] == [["block1_conv1", 0.7], ["block2_conv1", 0.3]]
    assert meta["final_cost"] > 0


def test_other_backbones_get_their_own_default_layers(tmp_path, capsys):
    out = tmp_path / "out.png"
    args = ["stylize", CONTENT, STYLE, "-o", str(out), "--size", "64", "--steps", "2", "--quiet"]
    assert main([*args, "--backbone", "squeezenet_imagenet"]) == 0, capsys.readouterr().err
    with Image.open(out) as image:
        meta = json.loads(image.text["nst_utils"])
    backbone = load_backbone("squeezenet_imagenet")
    assert meta["content_layer"] == backbone.content_layer
    assert meta["style_layers"] == [list(entry) for entry in backbone.style_layers]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--size", "0"], "positive"),
        (["--steps", "-1"], "steps"),
        (["--content-layer", "block7_conv1"], "Unknown layer"),
        (["-o", "out.jpg"], ".png"),
    ],
)
def test_bad_options_exit_2_with_a_message(tmp_path, capsys, extra, match):
    args = ["stylize", CONTENT, STYLE, "-o", str(tmp_path / "o.png"), "--steps", "1", "--quiet"]
    assert main([*args, "--size", "48", *extra]) == 2
    assert match in capsys.readouterr().err


def test_missing_and_non_image_files_exit_2(tmp_path, capsys):
    assert main(["stylize", str(tmp_path / "nope.jpg"), STYLE, "-o", str(tmp_path / "o.png")]) == 2
    assert "nope.jpg" in capsys.readouterr().err
    (tmp_path / "text.png").write_text("hello")
    assert (
        main(["stylize", CONTENT, str(tmp_path / "text.png"), "-o", str(tmp_path / "o.png")]) == 2
    )
    assert "not an image" in capsys.readouterr().err


def test_unknown_backbone_and_offline_vgg19(tmp_path, capsys, monkeypatch):
    # argparse's complaint is an error like any other: status 2, one line listing the choices
    assert main(["stylize", CONTENT, STYLE, "-o", str(tmp_path / "o.png"), "--backbone", "x"]) == 2
    assert "vgg16_hed" in capsys.readouterr().err
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    args = ["stylize", CONTENT, STYLE, "-o", str(tmp_path / "o.png"), "--size", "48"]
    assert main([*args, "--backbone", "vgg19_imagenet"]) == 2
    assert "not cached" in capsys.readouterr().err
    assert resources.downloads_allowed() is False


def test_parse_style_layers():
    assert parse_style_layers("a:0.5, b:2") == [("a", 0.5), ("b", 2.0)]
    assert parse_style_layers("a,b") == [("a", 0.5), ("b", 0.5)]
    with pytest.raises(Exception, match="NAME:WEIGHT"):
        parse_style_layers("a:heavy")


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "nst_utils", "stylize", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--size" in result.stdout and "--backbone" in result.stdout
