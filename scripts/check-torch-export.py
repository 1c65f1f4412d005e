#!/usr/bin/env python3
"""Check frugal-convert against a model exported by a real PyTorch install.

Builds a 784-64-48-10 torch.nn.Sequential MLP (non-square layers, 70% of its weights
set to exactly 0), exports it the two ways the README shows (numpy.savez of the
state_dict, and torch.onnx.export), converts both files, and checks that:
  - the two .frugal files are byte-identical;
  - frugal-run's logits on 200 random 28x28 images match PyTorch's within 1e-6 of each
    image's largest |logit|, with the same predicted class for every image.
Prints one summary line and exits 1 on a mismatch.

This is a manual check, not part of scripts/test.sh, because CI does not install
Debian's python3-torch, a large package.

Usage: /usr/bin/python3 scripts/check-torch-export.py --build-dir build [--work-dir DIR]
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

IMAGES = 200
TOLERANCE = 1e-6


def build_model():
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 48), torch.nn.ReLU(),
        torch.nn.Linear(48, 10))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_((torch.rand_like(parameter) > 0.7).float())
    return model.eval()


def write_idx_images(path, pixels):
    count, rows, cols = pixels.shape
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", count, rows, cols))
        f.write(pixels.tobytes())


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"check-torch-export.py: {' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def parse_logits(output):
    # frugal-run --show prints "image I: predicted P, logits L0 L1 ...".
    logits = []
    for line in output.splitlines():
        words = line.split()
        if words and words[0] == "image" and "logits" in words:
            logits.append([float(w.strip(",")) for w in words[words.index("logits") + 1:]])
    return np.array(logits, dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True, help="build folder with bin/frugal-convert")
    parser.add_argument("--work-dir", help="folder for the exported files (default: a temporary one)")
    args = parser.parse_args()
    convert = os.path.join(args.build_dir, "bin", "frugal-convert")
    frugal_run = os.path.join(args.build_dir, "bin", "frugal-run")
    for tool in (convert, frugal_run):
        if not os.access(tool, os.X_OK):
            sys.exit(f"check-torch-export.py: {tool} not found; build the project first")

    work = args.work_dir or tempfile.mkdtemp(prefix="frugal-torch-")
    os.makedirs(work, exist_ok=True)
    model = build_model()

    # The two export commands of the README.
    npz_path = os.path.join(work, "m.npz")
    onnx_path = os.path.join(work, "m.onnx")
    np.savez(npz_path, **{k: v.numpy() for k, v in model.state_dict().items()})
    torch.onnx.export(model, torch.zeros(1, 784), onnx_path)

    scale = "0.00392156862745098"
    from_npz = os.path.join(work, "npz.frugal")
    from_onnx = os.path.join(work, "onnx.frugal")
    run([convert, npz_path, "-o", from_npz, "--activations", "relu,relu,none", "--input-scale", scale])
    run([convert, onnx_path, "-o", from_onnx, "--input-scale", scale])
    with open(from_npz, "rb") as a, open(from_onnx, "rb") as b:
        identical = a.read() == b.read()

    pixels = np.random.default_rng(5).integers(0, 256, size=(IMAGES, 28, 28), dtype=np.uint8)
    images_path = os.path.join(work, "images.idx")
    write_idx_images(images_path, pixels)
    with torch.no_grad():
        inputs = torch.from_numpy(pixels.reshape(IMAGES, 784).astype(np.float32) * np.float32(1 / 255))
        expected = model(inputs).numpy().astype(np.float64)
    actual = parse_logits(run([frugal_run, from_onnx, "--images", images_path, "--show", str(IMAGES)]))
    if actual.shape != expected.shape:
        sys.exit(f"check-torch-export.py: frugal-run printed logits of shape {actual.shape}, "
                 f"expected {expected.shape}")

    largest = np.abs(expected).max(axis=1, keepdims=True)
    difference = float((np.abs(actual - expected) / largest).max())
    same_class = int((actual.argmax(axis=1) == expected.argmax(axis=1)).sum())
    print(f"torch {torch.__version__}: npz and ONNX files {'identical' if identical else 'DIFFER'}; "
          f"{same_class}/{IMAGES} same class; largest logit difference {difference:.3g} "
          f"of the image's largest |logit| (limit {TOLERANCE:g}); files in {work}")
    return 0 if identical and same_class == IMAGES and difference <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
