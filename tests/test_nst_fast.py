"""Fast arbitrary style transfer: the TFLite reader, the Keras rebuild (parity with LiteRT) and
the `fast_stylize` API.

LiteRT (``ai-edge-litert``, the `test` extra) runs the original ``.tflite`` files here and only
here: it is the reference the Keras rebuild is compared with.
"""

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

import nst_utils
from nst_utils import fast
from nst_utils.cli import main
from nst_utils.models import magenta
from nst_utils.models.tflite import Graph, Operator, Tensor, TFLiteFormatError, read_tflite
from workbook import WeightsUnavailableError, data_path, resources, weights_path

PHOTOS = ["bern_from_north", "yosemite_bridalveil_fall", "chiffchaff_bird"]
PAINTINGS = [
    "starry_night",
    "great_wave_off_kanagawa",
    "the_scream",
    "composition_vii",
    "monet_san_giorgio_maggiore_at_dusk",
    "gauguin_te_fare",
    "shipwreck_of_the_minotaur",
]
BERN = data_path("photos/bern_from_north.jpg")
STARRY = data_path("art/starry_night.jpg")
SCREAM = data_path("art/the_scream.jpg")


def photo(name):
    return data_path(f"photos/{name}.jpg")


def painting(name):
    return data_path(f"art/{name}.jpg")


def square(path, side):
    """Centre-cropped square in [0, 1], batch of one (the same array goes to both runtimes)."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    crop = min(width, height)
    box = ((width - crop) // 2, (height - crop) // 2)
    image = image.crop((*box, box[0] + crop, box[1] + crop))
    image = image.resize((side, side), Image.Resampling.LANCZOS)
    return (np.asarray(image, np.float32) / 255.0)[None]


def litert(entry, *arrays):
    """Run manifest entry ``entry`` in LiteRT; ``arrays`` in the order of the graph's inputs."""
    interpreter = Interpreter(model_path=str(weights_path(entry)), num_threads=2)
    interpreter.allocate_tensors()
    details = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    graph_inputs = read_tflite(weights_path(entry)).inputs
    by_index = dict(zip(graph_inputs, arrays, strict=True))
    for detail in details:
        interpreter.set_tensor(detail["index"], by_index[detail["index"]])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def predictor():
    return magenta.style_predictor()


@pytest.fixture(scope="module")
def transformer():
    return magenta.style_transformer()


@pytest.fixture(scope="module")
def reference_vectors():
    """LiteRT's style vectors of every painting, ``{name: (1, 1, 1, 100)}``."""
    return {
        name: litert(magenta.PREDICTOR_WEIGHTS, square(painting(name), 256)) for name in PAINTINGS
    }


# --- the TFLite reader -----------------------------------------------------------------------


@pytest.mark.parametrize("entry", [magenta.PREDICTOR_WEIGHTS, *magenta.TRANSFER_WEIGHTS.values()])
def test_reader_agrees_with_tensorflows_generated_schema(entry):
    """Every tensor and operator as TensorFlow's own generated FlatBuffer accessors read them."""
    from tensorflow.lite.python import schema_py_generated as schema

    path = weights_path(entry)
    graph = read_tflite(path)
    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    subgraph = model.Subgraphs(0)
    assert len(graph.tensors) == subgraph.TensorsLength() > 100
    for tensor in graph.tensors:
        other = subgraph.Tensors(tensor.index)
        assert tensor.name == other.Name().decode()
        assert tensor.shape == (tuple(other.ShapeAsNumpy()) if other.ShapeLength() else ())
        data = model.Buffers(other.Buffer()).DataAsNumpy()
        assert tensor.data == (data.tobytes() if isinstance(data, np.ndarray) else None)
        quant = other.Quantization()
        if tensor.quantization is not None:
            np.testing.assert_array_equal(tensor.quantization.scale, quant.ScaleAsNumpy())
            np.testing.assert_array_equal(tensor.quantization.zero_point, quant.ZeroPointAsNumpy())
            assert tensor.quantization.axis == quant.QuantizedDimension()
    assert len(graph.operators) == subgraph.OperatorsLength()
    for op in graph.operators:
        other = subgraph.Operators(op.index)
        assert op.inputs == tuple(other.InputsAsNumpy())
        assert op.outputs == tuple(other.OutputsAsNumpy())
    assert graph.inputs == tuple(subgraph.InputsAsNumpy())
    assert graph.outputs == tuple(subgraph.OutputsAsNumpy())


def test_reader_decodes_options_and_dequantises():
    graph = read_tflite(weights_path(magenta.TRANSFER_WEIGHTS["fp16"]))
    assert [graph.tensors[i].name for i in graph.inputs] == [
        "content_image",
        "mobilenet_conv/Conv/BiasAdd",
    ]
    conv2 = next(op for op in graph.operators if op.opcode == "CONV_2D" and op.index == 7)
    assert graph.tensors[conv2.outputs[0]].name == "transformer/contract/conv2/Relu"
    assert conv2.options["stride_h"] == conv2.options["stride_w"] == 2
    assert conv2.options["padding"] == "VALID"
    assert conv2.options["fused_activation_function"] == "RELU"
    assert graph.operators[0].opcode == "MIRROR_PAD"
    assert graph.operators[0].options == {"mode": "REFLECT"}
    # The exported graph resizes to fixed sizes; the Keras rebuild turns them into 2x upsampling.
    resizes = [op for op in graph.operators if op.opcode == "RESIZE_NEAREST_NEIGHBOR"]
    sizes = [graph.tensors[op.inputs[1]].numpy().tolist() for op in resizes]
    assert sizes == [[192, 192], [384, 384], [384, 384]]
    weights = graph.tensor("style_params/transformer/expand/conv3/conv/StyleNorm/Conv/weights")
    assert weights.dtype == np.float16 and weights.numpy().dtype == np.float32
    np.testing.assert_array_equal(weights.numpy(), weights.raw().astype(np.float32))

    predictor = read_tflite(weights_path(magenta.PREDICTOR_WEIGHTS))
    kernel = predictor.tensor("MobilenetV2/Conv/weights")  # int8, one scale per output channel
    assert kernel.dtype == np.int8 and kernel.quantization.per_axis
    scale = kernel.quantization.scale[:, None, None, None]
    np.testing.assert_allclose(kernel.numpy(), scale * kernel.raw(), rtol=1e-6)
    assert predictor.opcodes() == {
        "QUANTIZE": 1,
        "CONV_2D": 36,
        "DEPTHWISE_CONV_2D": 17,
        "ADD": 10,
        "MEAN": 1,
        "DEQUANTIZE": 1,
    }


def test_reader_rejects_other_files_clearly(tmp_path):
    with pytest.raises(TFLiteFormatError, match="not a TFLite model"):
        read_tflite(STARRY)
    with pytest.raises(TFLiteFormatError, match="not a TFLite model"):
        read_tflite(b"")
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        read_tflite(tmp_path / "nope.tflite")


def test_truncated_and_corrupted_files_raise_a_format_error():
    """Never a crash, an IndexError or a huge allocation: every offset is checked."""
    data = weights_path(magenta.TRANSFER_WEIGHTS["fp16"]).read_bytes()
    rng = np.random.default_rng(0)
    for cut in [8, 12, 64, 4096, len(data) // 2, *rng.integers(8, len(data) - 64, 40)]:
        with pytest.raises(TFLiteFormatError, match="truncated or corrupt"):
            read_tflite(data[:cut])
    failures = 0
    for _ in range(150):
        corrupt = bytearray(data)
        for position in rng.integers(8, 200_000, 8):
            corrupt[position] = rng.integers(0, 256)
        try:
            read_tflite(bytes(corrupt))
        except TFLiteFormatError:
            failures += 1
    assert failures > 0  # some corruptions hit offsets and were caught; none raised otherwise


def test_builder_names_an_unsupported_operator():
    tensors = (
        Tensor(0, "x", (1, 4, 4, 3), np.dtype("<f4")),
        Tensor(1, "y", (1, 4, 4, 3), np.dtype("<f4")),
    )
    graph = Graph(tensors, (Operator(0, "CUSTOM:Swirl", (0,), (1,)),), (0,), (1,))
    with pytest.raises(magenta.UnsupportedGraphError, match="CUSTOM:Swirl"):
        magenta.build_keras_model(graph)


def test_fake_quant_rounds_half_away_from_zero_and_clips():
    layer = magenta.FakeQuant(scale=0.5, zero_point=-1, qmin=-4, qmax=3)
    x = np.array([-0.25, 0.25, 0.3, 0.75, -0.75, 100.0, -100.0], np.float32)
    # q = clip(round(x / 0.5) - 1, -4, 3); real = 0.5 * (q + 1)
    expected = np.array([-0.5, 0.5, 0.5, 1.0, -1.0, 2.0, -1.5], np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)


# --- parity with LiteRT ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "style"), [("bern_from_north", "starry_night"), ("chiffchaff_bird", "the_scream")]
)
def test_transfer_network_matches_litert(transformer, reference_vectors, name, style):
    """Same content, same style vector (LiteRT's own): the fp16 network within 1e-3."""
    content = square(photo(name), 384)
    vector = reference_vectors[style]
    ours = np.asarray(transformer([content, vector]))
    reference = litert(magenta.TRANSFER_WEIGHTS["fp16"], content, vector)
    error = np.abs(ours - reference).max()
    print(f"transfer fp16 {name} x {style}: max |diff| {error:.2e}")  # measured: ~7e-6
    assert ours.shape == reference.shape == (1, 384, 384, 3)
    assert error <= 1e-3


@pytest.mark.slow
def test_style_predictor_matches_litert(predictor, reference_vectors):
    """Int8 activations: quantisation noise of about one int8 step (0.02) in a few entries."""
    ours = np.asarray(predictor(np.concatenate([square(painting(n), 256) for n in PAINTINGS])))
    cosines = [cosine(ours[i], reference_vectors[n]) for i, n in enumerate(PAINTINGS)]
    errors = [np.abs(ours[i] - reference_vectors[n]).max() for i, n in enumerate(PAINTINGS)]
    print(f"style vectors: min cosine {min(cosines):.6f}, max |diff| {max(errors):.4f}")
    assert min(cosines) >= 0.99
    assert ours.shape == (len(PAINTINGS), 1, 1, 100)


@pytest.mark.slow
def test_stylised_images_match_litert_end_to_end(predictor, transformer, reference_vectors):
    """Ours (our style vector, our transfer) vs LiteRT's (its vector, its transfer)."""
    for name, style in zip(PHOTOS, PAINTINGS, strict=False):
        content = square(photo(name), 384)
        vector = np.asarray(predictor(square(painting(style), 256)))
        ours = np.asarray(transformer([content, vector]))
        reference = litert(magenta.TRANSFER_WEIGHTS["fp16"], content, reference_vectors[style])
        error = np.abs(ours - reference).mean()
        print(f"end to end {name} x {style}: mean |diff| {error:.4f}")  # measured: ~0.004
        assert error <= 0.02


@pytest.mark.slow
def test_int8_transfer_network_close_to_litert(reference_vectors):
    """The int8 transfer file, int8 activations emulated: close, not exact (measured ~0.015)."""
    content = square(BERN, 384)
    vector = reference_vectors["starry_night"]
    ours = np.asarray(magenta.style_transformer(precision="int8")([content, vector]))
    reference = litert(magenta.TRANSFER_WEIGHTS["int8"], content, vector)
    assert np.abs(ours - reference).mean() <= 0.03


def test_transfer_network_accepts_any_size(transformer):
    """The fixed 192/384 px resizes of the file became 2x upsamplings: any size works."""
    rng = np.random.default_rng(0)
    vector = rng.normal(size=(1, 1, 1, 100)).astype(np.float32)
    for height, width in [(96, 128), (200, 300)]:
        content = rng.random((1, height, width, 3), dtype=np.float32)
        assert np.asarray(transformer([content, vector])).shape == (1, height, width, 3)
    out = nst_utils.fast_stylize(np.full((101, 150, 3), 128, np.uint8), STARRY, size=None)
    assert out.shape == (101, 150, 3) and out.dtype == np.uint8  # padded to 104x152, cropped


# --- fast_stylize, style_vector, blend_styles ------------------------------------------------


def test_fast_stylize_paints_the_photo():
    out = nst_utils.fast_stylize(BERN, STARRY, size=128)
    content = nst_utils.load_float_image(BERN, 128)
    assert out.shape == content.shape and out.dtype == np.uint8
    difference = np.abs(out.astype(np.float32) - content).mean()
    assert 10 < difference < 120  # restyled, not blank and not the photo itself
    correlation = np.corrcoef(out.mean(axis=2).ravel(), content.mean(axis=2).ravel())[0, 1]
    assert correlation > 0.3  # the layout of the photo survives


def test_strength_zero_is_the_photos_own_style():
    content = nst_utils.load_float_image(BERN, 128)
    own = nst_utils.fast_stylize(content, nst_utils.style_vector(content), size=None)
    zero_starry = nst_utils.fast_stylize(content, STARRY, strength=0.0, size=None)
    zero_scream = nst_utils.fast_stylize(content, SCREAM, strength=0.0, size=None)
    np.testing.assert_array_equal(zero_starry, own)
    np.testing.assert_array_equal(zero_scream, own)
    full = nst_utils.fast_stylize(content, STARRY, strength=1.0, size=None)
    assert np.abs(full.astype(float) - own).mean() > 5


def test_strength_interpolates_style_vectors():
    content = nst_utils.load_float_image(BERN, 128)
    mixed = 0.3 * nst_utils.style_vector(STARRY) + 0.7 * nst_utils.style_vector(content)
    expected = nst_utils.fast_stylize(content, mixed, size=None)
    np.testing.assert_array_equal(nst_utils.fast_stylize(content, STARRY, 0.3, size=None), expected)


def test_blending_two_styles():
    a, b = nst_utils.style_vector(STARRY), nst_utils.style_vector(SCREAM)
    np.testing.assert_allclose(
        nst_utils.blend_styles([STARRY, SCREAM], [1, 3]), 0.25 * a + 0.75 * b, rtol=1e-6
    )
    np.testing.assert_allclose(nst_utils.blend_styles([a, SCREAM]), 0.5 * a + 0.5 * b, atol=1e-6)
    blended = nst_utils.fast_stylize(BERN, [STARRY, SCREAM], weights=[0.25, 0.75], size=96)
    via_vector = nst_utils.fast_stylize(BERN, 0.25 * a + 0.75 * b, size=96)
    np.testing.assert_array_equal(blended, via_vector)
    only_a = nst_utils.fast_stylize(BERN, [STARRY, SCREAM], weights=[1, 0], size=96)
    np.testing.assert_array_equal(only_a, nst_utils.fast_stylize(BERN, STARRY, size=96))


def test_a_list_of_photos_runs_in_batches_and_keeps_its_order():
    photos = [photo("bern_from_north"), photo("yosemite_bridalveil_fall"), photo("chiffchaff_bird")]
    photos.append(nst_utils.load_float_image(photo("bern_from_north"), 100))  # another size
    batched = nst_utils.fast_stylize(photos, STARRY, size=100, batch_size=2)
    for image, result in zip(photos, batched, strict=True):
        alone = nst_utils.fast_stylize(image, STARRY, size=100)
        assert result.shape == alone.shape
        assert np.abs(result.astype(int) - alone).max() <= 1  # batching: float round-off only
    assert nst_utils.fast_stylize([], STARRY) == []


def test_style_vector_is_a_fresh_array_each_time():
    first = nst_utils.style_vector(STARRY)
    assert first.shape == (100,) and first.dtype == np.float32
    first[:] = 0
    assert np.abs(nst_utils.style_vector(STARRY)).sum() > 1


def test_networks_load_once_across_threads(monkeypatch):
    built = []
    monkeypatch.setattr(fast, "_CACHE", {})

    def slow_build(key):  # slow enough for the threads to overlap without the lock
        time.sleep(0.05)
        built.append(key)
        return object()

    monkeypatch.setattr(fast, "_build", slow_build)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(fast._compiled("predict"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["predict"] and len({id(r) for r in results}) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strength": 1.5}, "strength"),
        ({"strength": -0.1}, "strength"),
        ({"strength": True}, "strength"),
        ({"style": np.zeros(99, np.float32)}, "100 numbers"),
        ({"style": [STARRY, SCREAM], "weights": [1.0]}, "one weight per style"),
        ({"style": [STARRY, SCREAM], "weights": [1.0, -1.0]}, ">= 0"),
        ({"content": np.zeros((64, 64, 5), np.uint8)}, "image array"),
        ({"precision": "fp32"}, "precision"),
        ({"size": 0}, "positive"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_inputs_raise_value_errors(kwargs, match):
    args = {"content": BERN, "style": STARRY, "size": 64, **kwargs}
    with pytest.raises(ValueError, match=match):
        nst_utils.fast_stylize(**args)


def test_missing_images_and_network_files_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        nst_utils.fast_stylize(tmp_path / "nope.jpg", STARRY)
    entry = dict(resources.weights_entry(magenta.PREDICTOR_WEIGHTS), file="pretrained/none.tflite")
    monkeypatch.setitem(resources._manifest(), magenta.PREDICTOR_WEIGHTS, entry)
    monkeypatch.setattr(fast, "_CACHE", {})
    with pytest.raises(WeightsUnavailableError, match="make data"):
        nst_utils.style_vector(STARRY)


def test_corrupt_network_file_raises_a_format_error(tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(weights_path(magenta.TRANSFER_WEIGHTS["fp16"]).read_bytes()[:50_000])
    with pytest.raises(TFLiteFormatError, match="make data"):
        magenta.style_transformer(broken)


# --- command line ----------------------------------------------------------------------------


def test_cli_fast_writes_a_png(tmp_path, capsys):
    out = tmp_path / "fast.png"
    args = ["stylize", str(BERN), str(STARRY), "-o", str(out), "--size", "96"]
    assert main([*args, "--fast", "--strength", "0.7"]) == 0
    assert "fast, strength 0.7" in capsys.readouterr().out
    with Image.open(out) as image:
        assert max(image.size) == 96
        meta = json.loads(image.text["nst_utils"])
    assert meta["strength"] == 0.7 and meta["method"].startswith("fast")
    assert main([*args, "--fast", "--strength", "2"]) == 2
    assert "strength" in capsys.readouterr().err
    assert main([*args, "--strength", "0.5"]) == 2  # without --fast
    assert "--fast" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_fast_end_to_end_in_a_new_process(tmp_path):
    small = tmp_path / "small.png"
    Image.open(photo("chiffchaff_bird")).convert("RGB").resize((80, 60)).save(small)
    out = tmp_path / "out.png"
    command = [sys.executable, "-m", "nst_utils", "stylize", str(small), str(SCREAM)]
    result = subprocess.run(
        [*command, "-o", str(out), "--fast", "--size", "80"],
        capture_output=True,
        text=True,
        cwd=resources.repo_root(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote" in result.stdout
    with Image.open(out) as image:
        assert image.size == (80, 60)


def test_batches_hold_small_photos_together_and_large_ones_apart(monkeypatch):
    """Batching pays on a CPU only while a pass stays small (fast._BATCH_PIXELS)."""
    calls = []

    def network(pixels, styles):
        calls.append(int(pixels.shape[0]))
        return pixels

    monkeypatch.setattr(fast, "_compiled", lambda key: network)
    vector = np.zeros(100, np.float32)
    small = [np.full((64, 64, 3), 100, np.uint8)] * 3
    large = [np.full((384, 384, 3), 100, np.uint8)] * 3
    fast.fast_stylize(small, vector, size=None, batch_size=4)
    assert calls == [3]
    calls.clear()
    fast.fast_stylize(large, vector, size=None, batch_size=4)
    assert calls == [1, 1, 1]
