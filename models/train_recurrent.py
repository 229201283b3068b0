#!/usr/bin/python3
"""Trains the zoo's recurrent models on Fashion-MNIST with torch 1.13 (CPU, one thread, fixed seeds) and exports
them to ONNX (opset 13) for `morsel convert`.

    nice -n 15 /usr/bin/python3 models/train_recurrent.py [lstm|gru ...]   # MORSEL_EPOCHS=4 by default

Each image is a sequence of its 28 rows (28 time steps of 28 features, pixels / 255), read from the Debian package
dataset-fashion-mnist as models/train.ts reads it ($MORSEL_FASHION_MNIST_DIR, else
/usr/share/datasets/fashion-mnist). The model is nn.LSTM or nn.GRU (64 units, batch_first) whose final hidden state
feeds nn.Linear(64, 10) (logits). Writes models/fashion_<cell>/model.onnx and metrics.json (float top-1 on the 10,000
test images, measured by torch). torch rather than the project's TF.js trainer: TF.js's pure-JS CPU backend has no
fused recurrent kernel and steps each cell op by op, so 60,000 sequences × 28 steps × the epochs needed did not fit
the session; the model and the training are plain torch and the export is the same ONNX a torch user brings.
"""
import gzip
import io
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("MORSEL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
HIDDEN, BATCH = 64, 128
EPOCHS = int(os.environ.get("MORSEL_EPOCHS", "4"))


def idx(name):
    path = os.path.join(DATA, name)
    raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class RowClassifier(nn.Module):
    """Image rows as a 28-step sequence → LSTM/GRU (64 units) → the final hidden state → Linear → 10 logits."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(28, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, 10)

    def forward(self, x):
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        return self.head(h[-1])


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(cell):
    torch.manual_seed(15)
    np.random.seed(15)
    x_train = torch.from_numpy(idx("train-images-idx3-ubyte").astype(np.float32) / 255)
    y_train = torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64))
    x_test = torch.from_numpy(idx("t10k-images-idx3-ubyte").astype(np.float32) / 255)
    y_test = torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    model = RowClassifier(cell)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    loss_fn = nn.CrossEntropyLoss()
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), BATCH):
            b = order[i: i + BATCH]
            opt.zero_grad()
            loss_fn(model(x_train[b]), y_train[b]).backward()
            opt.step()
        sched.step()
        model.eval()
        print(f"{cell} epoch {epoch + 1}/{EPOCHS}: test top-1 {accuracy(model, x_test, y_test):.4f} "
              f"({time.time() - start:.0f} s)", flush=True)
    model.eval()
    out = os.path.join(HERE, f"fashion_{cell}")
    os.makedirs(out, exist_ok=True)
    buf = io.BytesIO()
    torch.onnx.export(model, x_test[:1], buf, opset_version=13, input_names=["x"], output_names=["logits"])
    onnx_model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(onnx_model, full_check=True)
    onnx.save(onnx_model, os.path.join(out, "model.onnx"))
    params = sum(p.numel() for p in model.parameters())
    metrics = {
        "model": f"fashion_{cell}",
        "dataset": "Fashion-MNIST",
        "input": {"shape": [1, 28, 28], "layout": "NTF (28 rows as 28 time steps of 28 features)", "scale": "1/255"},
        "output": "logits [1, 10] (no softmax)",
        "architecture": [f"{cell.upper()}(28 → {HIDDEN}, batch_first) → final hidden state → Linear({HIDDEN}, 10)"],
        "params": params,
        "trainer": f"models/train_recurrent.py (torch {torch.__version__}, Adam 2e-3 cosine, {EPOCHS} epochs, "
                   f"batch {BATCH}, seed 15, one thread)",
        "trainSeconds": round(time.time() - start),
        "floatTestAccuracy": round(accuracy(model, x_test, y_test), 4),
        "testImages": len(x_test),
    }
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for cell in sys.argv[1:] or ["lstm", "gru"]:
        train(cell)
