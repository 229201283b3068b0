#!/usr/bin/python3
"""Trains the zoo's tiny attention model on Fashion-MNIST with torch 1.13 and exports it to ONNX (opset 13).

    nice -n 15 /usr/bin/python3 models/fashion_attention/train.py      # a few minutes, one CPU thread

TF.js layers has no attention layer, so this entry is trained with torch (not models/train.ts) and enters Morsel as
an ONNX file, as a PyTorch user's model would. Input [1, 1, 28, 28] NCHW, pixels / 255 (as `--calib fashion-mnist`
and `morsel eval --data fashion-mnist` read them); output logits [1, 10]. Writes model.onnx and metrics.json beside
this script. Seeded, deterministic algorithms, one thread.

    [1,1,28,28] → Conv2d(1→32, 7×7, stride 7): 16 patches of 7×7 → tokens [1,16,32] + learned positions
                → one post-norm transformer encoder layer (2 heads, ReLU feed-forward 64, no dropout)
                → mean over the 16 tokens → Linear(32→10) logits
"""
import importlib.util
import io
import json
import os
import time

import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
# Fashion-MNIST from the Debian dataset, read by the ONNX fixtures' reader (pixels / 255, NCHW).
_spec = importlib.util.spec_from_file_location("make_torch_cnn", os.path.join(ROOT, "test/fixtures/onnx/make_torch_cnn.py"))
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
SEED, EPOCHS, BATCH, LR = 15, 4, 128, 3e-3
torch.manual_seed(SEED)
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


class PatchAttention(nn.Module):
    def __init__(self, d=32, patch=7, heads=2, ff=64):
        super().__init__()
        self.patches = nn.Conv2d(1, d, patch, stride=patch)
        tokens = (28 // patch) ** 2
        self.position = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.encoder = nn.TransformerEncoderLayer(d, heads, dim_feedforward=ff, dropout=0.0, batch_first=True)
        self.classifier = nn.Linear(d, 10)

    def forward(self, x):
        tokens = self.patches(x).flatten(2).transpose(1, 2) + self.position
        return self.classifier(self.encoder(tokens).mean(1))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def main():
    train_x, train_y = _fixtures.load("train")
    test_x, test_y = _fixtures.load("test")
    model = PatchAttention()
    steps = EPOCHS * (len(train_x) // BATCH)
    optimizer = torch.optim.Adam(model.parameters(), LR)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR, total_steps=steps)
    order = torch.Generator().manual_seed(SEED)
    start, history = time.time(), []
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(train_x), generator=order)
        total = 0.0
        for s in range(len(train_x) // BATCH):
            idx = perm[s * BATCH:(s + 1) * BATCH]
            loss = nn.functional.cross_entropy(model(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        acc = accuracy(model, test_x[:2000], test_y[:2000])
        history.append({"epoch": epoch + 1, "loss": round(total / (len(train_x) // BATCH), 5), "testAcc2k": acc})
        print(f"epoch {epoch + 1}: loss {history[-1]['loss']}, test accuracy (first 2000) {100 * acc:.2f}%", flush=True)
    seconds = time.time() - start
    test_acc = accuracy(model, test_x, test_y)
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, test_x[:1], buf, opset_version=13, input_names=["image"], output_names=["logits"])
    exported = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(exported, full_check=True)
    onnx.save(exported, os.path.join(HERE, "model.onnx"))
    metrics = {
        "model": "fashion_attention",
        "dataset": "Fashion-MNIST",
        "input": {"shape": [1, 1, 28, 28], "layout": "NCHW", "scale": "1/255", "range": [0, 1]},
        "output": "logits [1, 10] (no softmax)",
        "architecture": [line.strip() for line in __doc__.split("\n\n")[3].splitlines()],
        "params": sum(p.numel() for p in model.parameters()),
        "floatTestAccuracy": round(test_acc, 4),
        "testImages": len(test_x),
        "epochs": EPOCHS,
        "batchSize": BATCH,
        "optimizer": {"name": "adam", "learningRate": LR, "schedule": "one-cycle"},
        "seed": SEED,
        "trainSeconds": round(seconds, 1),
        "history": history,
        "torch": torch.__version__,
    }
    with open(os.path.join(HERE, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"{metrics['params']} params, float test accuracy {100 * test_acc:.2f}% ({len(test_x)} images), "
          f"training {seconds:.0f} s")


if __name__ == "__main__":
    main()
