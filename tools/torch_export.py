"""What the torch and ONNX fixture scripts share: a one-op ONNX graph, a checked save, and a torch module exported at
opset 13 beside its own input tensor and torch's float output for it.

Imported by tools/torch-suite.py and the fixture scripts under test/fixtures/ (they put this folder on sys.path).
Nothing here draws random numbers, so a script that moves its export code here keeps writing the same bytes.
"""
import io
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper


def one_op_model(name, nodes, x_shape, y_shape, inits=(), opset=13):
    """A graph of `nodes` from one float input x to one float output y (y_shape None: left to shape inference)."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        initializer=list(inits))
    model = helper.make_model(graph, producer_name="morsel-fixtures",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    return model


def save_checked(model, path):
    """Saves a model that passes ONNX's full check (shape inference included)."""
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def randomize_bn(module):
    """Eval-mode batch norms with non-trivial statistics and affine parameters (fresh ones are the identity)."""
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return module


def export_onnx(module, x, path, **options):
    """Exports `module` in eval mode for input x to `path` (opset 13, input "x", output "y", checked) and returns
    torch's output for x. `options` go to torch.onnx.export (training mode, constant folding, dynamic axes)."""
    module.eval()
    with torch.no_grad():
        y = module(x)
    buf = io.BytesIO()
    torch.onnx.export(module, (x,), buf, opset_version=13, input_names=["x"], output_names=["y"], **options)
    save_checked(onnx.load_from_string(buf.getvalue()), path)
    return y


def export_npy(folder, name, module, x, **options):
    """NAME.onnx with NAME.input.npy (x as torch holds it) and NAME.output.npy (torch's float32 output)."""
    y = export_onnx(module, x, os.path.join(folder, name + ".onnx"), **options)
    np.save(os.path.join(folder, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(folder, name + ".output.npy"), y.numpy().astype(np.float32))


def f32_list(a):
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(np.format_float_scientific(v, unique=True)) for v in np.asarray(a, dtype=np.float32).ravel()]


def export_json(folder, name, module, x):
    """torch_NAME.onnx and torch_NAME.json {"input": {"shape", "data"}, "output": {"shape", "data"}}, row-major."""
    y = export_onnx(module, x, os.path.join(folder, "torch_" + name + ".onnx"))
    with open(os.path.join(folder, "torch_" + name + ".json"), "w") as f:
        json.dump({"input": {"shape": list(x.shape), "data": f32_list(x)},
                   "output": {"shape": list(y.shape), "data": f32_list(y)}}, f)
