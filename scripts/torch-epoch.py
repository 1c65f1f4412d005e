#!/usr/bin/env python3
"""Time one epoch of the 784-64-64-10 MLP with plain SGD in PyTorch on the CPU.

The yardstick for frugal-train's epoch time: the same model, batch size, data (MNIST
training file minus the last 10,000 images, pixels scaled to [0, 1]) and optimizer
step, without any evaluation. Prints one JSON line per epoch on stdout.

Usage: /usr/bin/python3 scripts/torch-epoch.py --data-dir DIR [--threads N]
(Debian's python3-torch installs for the system interpreter.)
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"torch-epoch.py: {path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with the uncompressed MNIST IDX files")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads value (default 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="epochs to time (default 3)")
    parser.add_argument("--validation", type=int, default=10000, help="images held out from the end")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images = read_idx(os.path.join(args.data_dir, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(args.data_dir, "train-labels-idx1-ubyte"))
    count = images.shape[0] - args.validation
    x = torch.from_numpy(images[:count].reshape(count, -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels[:count].astype(np.int64))

    model = torch.nn.Sequential(
        torch.nn.Linear(784, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_function = torch.nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(count)
        for first in range(0, count, args.batch_size):
            index = order[first:first + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "seconds": seconds, "threads": args.threads,
                          "batch_size": args.batch_size, "torch": torch.__version__}), flush=True)
        print(f"epoch {epoch}: {seconds:.2f} s, last batch loss {loss.item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
