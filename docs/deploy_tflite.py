"""Classify photos with a model exported by `ilsvrc-keras export --format tflite`, with nothing but
Pillow, NumPy and a TFLite (LiteRT) interpreter: `ai-edge-litert` where installed, else TensorFlow's.

    ilsvrc-keras export model.tflite --model resnet50 --format tflite
    python docs/deploy_tflite.py model.tflite photo1.jpg photo2.jpg

The exported network normalizes the pixels itself; this script only cuts the center crop the
network was evaluated on (resize the shorter side, crop the middle) and feeds it as uint8 RGB.
Prints one JSON object per photo: its top-5 classes with probabilities.
"""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def make_interpreter(model_path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(model_path))
    interpreter.allocate_tensors()
    return interpreter


def center_crop(photo, size: int, shorter_side: int) -> np.ndarray:
    """The photo upright (EXIF), RGB, its shorter side resized to `shorter_side`, the middle size x size."""
    image = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
    scale = shorter_side / min(image.size)
    width, height = (max(size, round(side * scale)) for side in image.size)
    image = image.resize((width, height), Image.BILINEAR)  # Pillow's bilinear is antialiased when shrinking
    left, top = (width - size) // 2, (height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def main(model_path, photos, top=5):
    meta = json.loads(Path(model_path).with_suffix(".labels.json").read_text())
    size, shorter = meta["input"]["center_crop"], meta["input"]["resize_shorter_side_to"]
    interpreter = make_interpreter(model_path)
    source, result = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    for photo in photos:
        interpreter.set_tensor(source["index"], center_crop(photo, size, shorter)[None])
        interpreter.invoke()
        probabilities = interpreter.get_tensor(result["index"])[0]
        best = np.argsort(-probabilities)[:top]
        print(json.dumps({"photo": str(photo), "top": [
            {"name": meta["classes"][i]["name"], "label": meta["classes"][i]["label"],
             "probability": round(float(probabilities[i]), 4)} for i in best]}))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
