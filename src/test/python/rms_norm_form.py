"""Exports a module whose traced graph holds an rms_norm call, with the export tool's ONNX form of `aten::rms_norm`.

Debian's PyTorch 1.13 has no `aten::rms_norm` (nn.RMSNorm came in 2.4), so the call is an operator defined here with
exactly aten::rms_norm's schema, `sapiens_test::rms_norm(Tensor input, int[] normalized_shape, Tensor? weight=None,
float? eps=None)`, computing what torch.nn.functional.rms_norm computes; the tool's form is registered for it as the
tool registers it for aten::rms_norm on a PyTorch whose exporter lacks one. Writes, into OUT_DIR:
rms_norm_eps.onnx (eps 1e-6, a weight) and rms_norm_default.onnx (eps None: float32's epsilon, no weight), input.npy,
and the TorchScript results expected_eps.npy and expected_default.npy.

Usage: rms_norm_form.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "deploy/export"))
import sapiens_export  # noqa: E402

LIBRARY = torch.library.Library("sapiens_test", "DEF")
LIBRARY.define("rms_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, float? eps=None) -> Tensor")


def rms_norm(x, normalized_shape, weight=None, eps=None):
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    y = x * torch.rsqrt(x.pow(2).mean(dim=tuple(range(-len(normalized_shape), 0)), keepdim=True) + eps)
    return y if weight is None else y * weight


LIBRARY.impl("rms_norm", rms_norm, "CPU")


class WithEps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(16) + 0.5)

    def forward(self, x):
        return torch.ops.sapiens_test.rms_norm(x, [16], self.weight, 1e-6)


class Default(torch.nn.Module):
    def forward(self, x):
        return torch.ops.sapiens_test.rms_norm(x, [16])


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.onnx.register_custom_op_symbolic("sapiens_test::rms_norm", sapiens_export.rms_norm_symbolic(17), 17)
    x = torch.randn(2, 7, 16) * 3
    np.save(out / "input.npy", x.numpy())
    for name, module in (("eps", WithEps().eval()), ("default", Default().eval())):
        with torch.no_grad():
            traced = torch.jit.trace(module, x)
            np.save(out / ("expected_%s.npy" % name), traced(x).numpy())
            torch.onnx.export(traced, (x,), str(out / ("rms_norm_%s.onnx" % name)), input_names=["input"],
                              output_names=["output"], opset_version=17, dynamic_axes={"input": {0: "batch"}})
        print("exported rms_norm_%s.onnx" % name)


if __name__ == "__main__":
    main()
