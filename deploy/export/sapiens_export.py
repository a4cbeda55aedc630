#!/usr/bin/env python3
"""Export a Sapiens segmentation TorchScript checkpoint to ONNX, and check the export against TorchScript.

  sapiens_export.py sapiens_0.3b_goliath_best_goliath_mIoU_7673_epoch_194_torchscript.pt2 sapiens-seg-0.3b.onnx
  sapiens_export.py CHECKPOINT.pt2 sapiens-seg-1b-fp16.onnx --precision fp16

The ONNX model has one float32 input `input` (batch, 3, height, width) and one float32 output `logits`: Sapiens
(batch, 28, height/2, width/2), the foreground model (batch, 1, height/2, width/2) or Sapiens2 (batch, 29, height,
width); the batch axis is dynamic. Sapiens2's bfloat16 rotary embedding is computed in float32. fp16 keeps the model's inputs and outputs in float32
(casts inside the graph) and computes every LayerNormalization in float32. See README.md beside this file.

Exit status: 0 exported (and, when checked, matched), 1 the check found a mismatch, 2 the export failed.
"""
import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Protobuf cannot serialise a message of 2 GiB or more; leave a margin for the graph itself.
PROTO_LIMIT = 2_000_000_000
MIN_OPSET = 17
# Op types computed in float32 in an fp16 export, always: LayerNorm statistics over wide rows lose too much in
# half precision, and the Java runtime's CPU pods must be able to run the model.
ALWAYS_FP32 = ("LayerNormalization",)
# Inputs that ONNX only defines for float32 (Resize's roi/scales), whatever the data type.
FLOAT32_ONLY_INPUTS = {"Resize": {1, 2}, "Upsample": {1}}

DEFAULT_TOLERANCES = {
    # max |onnx - torchscript| <= atol + rtol * max |torchscript|, and argmax agreement >= min_agreement (%)
    "fp32": {"atol": 1e-3, "rtol": 1e-4, "min_agreement": 99.9},
    "fp16": {"atol": 5e-2, "rtol": 1e-2, "min_agreement": 99.0},
    # Dynamic int8 moves logits by a few percent of their range; agreement is what decides.
    "int8": {"atol": 0.5, "rtol": 0.1, "min_agreement": 95.0},
    # 4-bit weights: 16 levels per block of 32 move logits more than int8 does.
    "q4": {"atol": 1.0, "rtol": 0.2, "min_agreement": 90.0},
}


class ExportError(Exception):
    pass


def log(message):
    print(message, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# TorchScript -> ONNX (float32)

def _registered(name, opset):
    try:
        from torch.onnx._internal import registration
        return registration.registry.is_registered_op(name, opset)
    except (ImportError, AttributeError):  # an exporter without that registry: assume it has the op
        return True


def rms_norm_symbolic(opset):
    """The ONNX form of rms_norm(input, normalized_shape, weight, eps) for `opset`: Sapiens2's nn.RMSNorm."""
    import torch
    from torch.onnx import symbolic_helper as sh

    def rms_norm(g, x, normalized_shape, weight, eps):
        # y = x / sqrt(mean(x^2 over the normalised axes) + eps) * weight; eps None means finfo(float32).eps, as
        # torch.nn.functional.rms_norm does for float32 input.
        shape = sh._get_const(normalized_shape, "is", "normalized_shape")
        axes = list(range(-len(shape), 0))
        eps_value = None if sh._is_none(eps) else sh._maybe_get_const(eps, "f")
        if eps_value is None:
            eps_value = float(torch.finfo(torch.float32).eps)
        square = g.op("Mul", x, x)
        if opset >= 18:
            mean = g.op("ReduceMean", square, g.op("Constant", value_t=torch.tensor(axes, dtype=torch.int64)), keepdims_i=1)
        else:
            mean = g.op("ReduceMean", square, axes_i=axes, keepdims_i=1)
        rms = g.op("Sqrt", g.op("Add", mean, g.op("Constant", value_t=torch.tensor(float(eps_value), dtype=torch.float32))))
        y = g.op("Div", x, rms)
        return y if sh._is_none(weight) else g.op("Mul", y, weight)

    return rms_norm


def register_fallback_symbolics(opset):
    """ONNX forms of operations Sapiens2's backbone traces to and that PyTorch's TorchScript exporter lacks in some
    versions: `aten::tile` (its rotary position embedding; missing before PyTorch 2.x) and `aten::rms_norm` (its
    nn.RMSNorm; the TorchScript exporter has none below opset 23, pytorch/pytorch#159249), registered only where the
    installed exporter has no form of its own; and `aten::repeat_interleave` with a constant repeat (its grouped-query
    attention), always, since PyTorch's own form breaks with a dynamic batch. Returns what was registered."""
    import torch
    from torch.onnx import symbolic_helper as sh

    def tile(g, self, dims):
        reps = sh._maybe_get_const(dims, "is")
        rank = sh._get_tensor_rank(self)
        if sh._is_value(reps) or rank is None:
            raise ExportError("aten::tile needs constant repeats and an input of known rank")
        reps = list(reps)
        if len(reps) > rank:  # torch.tile prepends size-1 axes to the input
            self = g.op("Reshape", self, g.op("Concat", g.op("Constant", value_t=torch.ones(len(reps) - rank, dtype=torch.int64)),
                                              g.op("Shape", self), axis_i=0))
        reps = [1] * max(0, rank - len(reps)) + reps  # ... or size-1 repeats to the repeats
        return g.op("Tile", self, g.op("Constant", value_t=torch.tensor(reps, dtype=torch.int64)))

    def repeat_interleave(g, self, repeats, dim=None, output_size=None):
        # Grouped-query attention repeats each key/value head: k.repeat_interleave(factor, dim=1). PyTorch 1.13's
        # form of it splits the tensor per element and mis-sizes the result when the batch axis is dynamic (ONNX
        # Runtime then fails: "Can broadcast 0 by 0 or 1"). For a constant repeat along a known axis:
        # unsqueeze after the axis, expand there, merge the two axes.
        reps = sh._maybe_get_const(repeats, "i")
        axis = None if dim is None or sh._is_none(dim) else sh._maybe_get_const(dim, "i")
        rank = sh._get_tensor_rank(self)
        if not isinstance(reps, int) or not isinstance(axis, int) or rank is None:
            from torch.onnx import symbolic_opset13
            return symbolic_opset13.repeat_interleave(g, self, repeats, dim, output_size)
        axis %= rank

        def ints(values):
            return g.op("Constant", value_t=torch.tensor(values, dtype=torch.int64))

        unsqueezed = g.op("Unsqueeze", self, ints([axis + 1]))
        ones = [1] * (rank + 1)
        ones[axis + 1] = reps
        expanded = g.op("Expand", unsqueezed, ints(ones))
        shape = g.op("Shape", self)
        merged = g.op("Mul", g.op("Slice", shape, ints([axis]), ints([axis + 1])), ints([reps]))
        target = g.op("Concat", g.op("Slice", shape, ints([0]), ints([axis])), merged,
                      g.op("Slice", shape, ints([axis + 1]), ints([2**62])), axis_i=0)
        return g.op("Reshape", expanded, target)

    registered = []
    for name, function in (("aten::tile", tile), ("aten::rms_norm", rms_norm_symbolic(opset))):
        if not _registered(name, opset):
            torch.onnx.register_custom_op_symbolic(name, function, opset)
            registered.append(name)
    torch.onnx.register_custom_op_symbolic("aten::repeat_interleave", repeat_interleave, opset)
    registered.append("aten::repeat_interleave (constant repeats)")
    return registered


def torchscript_bfloat16_to_float32(module):
    """Sapiens2's TorchScript computes its rotary position embedding in bfloat16 (arange, sin/cos and the rotation of
    q and k, between casts). PyTorch's ONNX exporter cannot follow bfloat16 through those operations, and ONNX Runtime
    could not run them on the CPU anyway: the traced graph is changed to compute them in float32 (every dtype argument
    that says bfloat16 says float32, and bfloat16 buffers become float32) before export. Returns what was changed."""
    import torch

    bfloat16, float32 = 15, 6  # c10::ScalarType
    graph = module.graph
    torch._C._jit_pass_inline(graph)
    changed = 0

    def walk(block):
        nonlocal changed
        for node in block.nodes():
            for inner in node.blocks():
                walk(inner)
            if node.kind().startswith("prim::"):
                continue
            try:
                arguments = torch._C.parse_schema(node.schema()).arguments
            except RuntimeError:  # no schema
                continue
            inputs = list(node.inputs())
            for i, argument in enumerate(arguments):
                if argument.name == "dtype" and i < len(inputs) and inputs[i].node().kind() == "prim::Constant" \
                        and inputs[i].toIValue() == bfloat16:
                    constant = graph.insertConstant(float32)
                    constant.node().moveBefore(node)
                    node.replaceInput(i, constant)
                    changed += 1
            for i, value in enumerate(inputs):
                constant = value.node()
                if constant.kind() == "prim::Constant" and value.type().kind() == "TensorType":
                    tensor = value.toIValue()
                    if tensor is not None and tensor.dtype == torch.bfloat16:
                        widened = graph.insertConstant(tensor.float())
                        widened.node().moveBefore(node)
                        node.replaceInput(i, widened)
                        changed += 1

    walk(graph)
    for name, buffer in list(module.named_buffers()) + list(module.named_parameters()):
        if buffer.dtype == torch.bfloat16:
            owner = module
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            owner._c.setattr(leaf, buffer.detach().float())
            changed += 1
    return changed


def export_fp32(module, path, height, width, opset):
    import torch

    fallbacks = register_fallback_symbolics(opset)
    if fallbacks:
        log("ONNX forms of the tool's own for: %s" % ", ".join(fallbacks))

    kwargs = dict(
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset,
        do_constant_folding=True,
        export_params=True,
    )
    parameters = inspect.signature(torch.onnx.export).parameters
    if "dynamo" in parameters:  # PyTorch >= 2.5: the TorchScript exporter is the one that takes a ScriptModule
        kwargs["dynamo"] = False
    if "training" in parameters:
        kwargs["training"] = torch.onnx.TrainingMode.EVAL
    dummy = torch.zeros(1, 3, height, width, dtype=torch.float32)
    with torch.no_grad():
        torch.onnx.export(module, (dummy,), str(path), **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# bfloat16 inside a float32 model -> float32

def remove_bfloat16(model):
    """Sapiens2 computes its rotary position embedding in bfloat16 (`pos_embed_rope_dtype="bf16"`): q and k are cast
    to bfloat16, rotated by bfloat16 sin/cos, and cast back. ONNX Runtime has no bfloat16 kernels for Mul, Add, Neg,
    Concat or Slice on the CPU (and not all of them on CUDA), so such a model does not load there. Computed in float32
    instead: every Cast to bfloat16 becomes a Cast to float32, and every bfloat16 constant (initializers, Constant
    nodes, ConstantOfShape values) becomes the float32 of the same value (exact: bfloat16 is float32's upper half).
    Returns (casts, constants) rewritten."""
    import onnx
    from onnx import TensorProto, numpy_helper

    def widen(tensor):
        if tensor.data_type != TensorProto.BFLOAT16:
            return False
        raw = np.frombuffer(tensor.raw_data, dtype=np.uint16) if tensor.raw_data else \
            np.asarray(tensor.int32_data, dtype=np.uint32).astype(np.uint16)
        values = (raw.astype(np.uint32) << 16).view(np.float32).reshape(tuple(tensor.dims))
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
        return True

    casts = constants = 0
    for tensor in model.graph.initializer:
        constants += widen(tensor)
    for node in _all_nodes(model.graph):
        for attribute in node.attribute:
            if node.op_type == "Cast" and attribute.name == "to" and attribute.i == TensorProto.BFLOAT16:
                attribute.i = TensorProto.FLOAT
                casts += 1
            elif attribute.type == onnx.AttributeProto.TENSOR:
                constants += widen(attribute.t)
    for value in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        if value.type.tensor_type.elem_type == TensorProto.BFLOAT16:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    return casts, constants


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.g.node:
                yield from _all_nodes(attribute.g)
            for sub in attribute.graphs:
                yield from _all_nodes(sub)


# ----------------------------------------------------------------------------------------------------------------
# float32 ONNX -> fp16 ONNX with float32 I/O and float32 LayerNormalization

def _element_types(model, nodes):
    """Element type of every value, by ONNX shape inference on a skeleton of the model: float weights become typed
    graph inputs without data, so that inference works whatever the model's size (protobuf's 2 GB limit)."""
    import onnx
    from onnx import helper, shape_inference

    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE)
    skeleton = onnx.ModelProto()
    skeleton.ir_version = model.ir_version
    skeleton.opset_import.extend(model.opset_import)
    graph = skeleton.graph
    graph.node.extend(nodes)
    graph.input.extend(i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer})
    graph.output.extend(model.graph.output)
    for init in model.graph.initializer:
        if init.data_type in floats:
            graph.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        else:
            graph.initializer.append(init)
    inferred = shape_inference.infer_shapes(skeleton)
    types = {}
    for value in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        if value.type.HasField("tensor_type"):
            types[value.name] = value.type.tensor_type.elem_type
    for init in model.graph.initializer:
        types[init.name] = init.data_type
    return types


def to_fp16(model, keep_fp32_ops):
    """Converts a float32 model in place: activations and weights fp16; graph inputs and outputs stay float32 (a Cast
    after the input and before the output); nodes of the op types in keep_fp32_ops compute in float32 (Casts around
    them, their weights stay float32). Tensors that do not derive from the image (shape arithmetic) stay float32."""
    import onnx
    from onnx import helper, numpy_helper

    FLOAT, HALF = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    graph = model.graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise ExportError("fp16 conversion does not handle control flow (%s node %s)" % (node.op_type, node.name))

    # Float Constant nodes become initializers (one place to convert weights).
    nodes = []
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value"), None)
        if node.op_type == "Constant" and value is not None and value.t.data_type == FLOAT:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value.t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            nodes.append(node)

    types = _element_types(model, nodes)
    initializers = {init.name: init for init in graph.initializer}

    def rename_everywhere(old, new):
        for node in nodes:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new
            for i, name in enumerate(node.output):
                if name == old:
                    node.output[i] = new
        types[new] = types.get(old)

    head, tail = [], []
    activations = set()
    for value in graph.input:
        if value.name in initializers or value.type.tensor_type.elem_type != FLOAT:
            continue
        rename_everywhere(value.name, value.name + "_fp16")
        head.append(helper.make_node("Cast", [value.name], [value.name + "_fp16"], to=HALF, name=value.name + "_to_fp16"))
        activations.add(value.name + "_fp16")
    for value in graph.output:
        if value.type.tensor_type.elem_type != FLOAT:
            continue
        rename_everywhere(value.name, value.name + "_fp16")
        tail.append(helper.make_node("Cast", [value.name + "_fp16"], [value.name], to=FLOAT, name=value.name + "_to_fp32"))

    wants_fp16, wants_fp32 = {}, set()  # initializer -> consumers (node, slot) wanting a half copy; names kept float
    casts = {}
    out = list(head)

    def cast(name, to):
        key = (name, to)
        if key not in casts:
            casts[key] = name + ("_as_fp16" if to == HALF else "_as_fp32")
            out.append(helper.make_node("Cast", [name], [casts[key]], to=to, name=casts[key]))
        return casts[key]

    kept = {}
    for node in nodes:
        if not any(name in activations for name in node.input):
            for name in node.input:
                if name in initializers and initializers[name].data_type == FLOAT:
                    wants_fp32.add(name)
            out.append(node)
            continue
        float_outputs = [name for name in node.output if types.get(name) == FLOAT]
        if node.op_type in keep_fp32_ops:
            kept[node.op_type] = kept.get(node.op_type, 0) + 1
            for i, name in enumerate(node.input):
                if name in activations:
                    node.input[i] = cast(name, FLOAT)
                elif name in initializers and initializers[name].data_type == FLOAT:
                    wants_fp32.add(name)
            out.append(node)
            for i, name in enumerate(node.output):
                if name in float_outputs:
                    node.output[i] = name + "_fp32"
                    out.append(helper.make_node("Cast", [name + "_fp32"], [name], to=HALF, name=name + "_to_fp16"))
                    activations.add(name)
            continue
        float_only = FLOAT32_ONLY_INPUTS.get(node.op_type, set())
        for i, name in enumerate(node.input):
            if not name or name in activations or types.get(name) != FLOAT:
                continue
            if i in float_only:
                if name in initializers:
                    wants_fp32.add(name)
            elif name in initializers:
                wants_fp16.setdefault(name, []).append((node, i))
            else:
                node.input[i] = cast(name, HALF)
        if node.op_type == "Cast":
            for attr in node.attribute:
                if attr.name == "to" and attr.i == FLOAT:
                    attr.i = HALF
        activations.update(float_outputs)
        out.append(node)
    out.extend(tail)

    overflow = 0
    for name, consumers in wants_fp16.items():
        init = initializers[name]
        with np.errstate(over="ignore"):
            values = numpy_helper.to_array(init).astype(np.float16)
        beyond = np.isinf(values)
        if beyond.any():  # the float32 weights hold no inf: these were beyond the fp16 range
            overflow += int(np.count_nonzero(beyond))
            np.clip(values, -65504, 65504, out=values)
        half = numpy_helper.from_array(values, name if name not in wants_fp32 else name + "_fp16")
        del values, beyond
        if name in wants_fp32:
            graph.initializer.append(half)
            for node, i in consumers:
                node.input[i] = half.name
        else:
            init.CopyFrom(half)
    if overflow:
        log("warning: %d weight values beyond the fp16 range were clipped to +-65504" % overflow)

    del graph.node[:]
    graph.node.extend(out)
    del graph.value_info[:]  # element types changed; ONNX Runtime infers them again
    return kept


# ----------------------------------------------------------------------------------------------------------------
# faster equivalent forms (float32 ONNX -> float32 ONNX, same logits within float rounding)

def _attributes(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_upsampling_deconv(node, initializers):
    """A ConvTranspose of Sapiens' decode head: kernel 4x4, stride 2, padding 1, one group, no dilation or output
    padding, weights in an initializer."""
    if node.op_type != "ConvTranspose" or len(node.input) < 2 or node.input[1] not in initializers:
        return False
    a = _attributes(node)
    weight = initializers[node.input[1]]
    return (len(weight.dims) == 4 and list(weight.dims[2:]) == [4, 4]
            and list(a.get("kernel_shape", [4, 4])) == [4, 4] and list(a.get("strides", [1, 1])) == [2, 2]
            and list(a.get("pads", [0, 0, 0, 0])) == [1, 1, 1, 1] and a.get("group", 1) == 1
            and list(a.get("dilations", [1, 1])) == [1, 1] and not a.get("output_padding") and not a.get("output_shape")
            and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            and (len(node.input) < 3 or not node.input[2] or node.input[2] in initializers))


def deconv_to_subpixel(model):
    """Rewrites every stride-2 4x4 ConvTranspose (padding 1) as four 2x2 convolutions, one per output phase, concatenated
    and interleaved by DepthToSpace (DCR): the same sums in another order. Output pixel (2m+a, 2n+b) of the transposed
    convolution only ever sees input rows m-1..m (a = 0, taps 3 and 1) or m..m+1 (a = 1, taps 2 and 0), and likewise
    for columns, so each phase is an ordinary convolution with a 2x2 slice of the flipped kernel and one-sided padding.
    ONNX Runtime runs those in its blocked (NCHWc) convolution kernels, with no col2im buffer (2.4 GB for Sapiens' last
    deconvolution), at the same multiply-add count. Returns the number of nodes rewritten."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    # For output phase p (0 even, 1 odd): the kernel taps over the two input rows it reads, and the padding that
    # aligns them: even outputs read rows m-1, m (pad before), odd ones rows m, m+1 (pad after).
    taps = {0: (3, 1), 1: (2, 0)}
    pads = {0: (1, 0), 1: (0, 1)}
    nodes, rewritten, used = [], 0, set()
    for node in graph.node:
        if not _is_upsampling_deconv(node, initializers):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])  # (Cin, Cout, 4, 4)
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        base = (node.name or node.output[0]).replace("/", "_")
        phases = []
        for a in (0, 1):
            for b in (0, 1):
                kernel = weight[:, :, list(taps[a]), :][:, :, :, list(taps[b])]  # (Cin, Cout, 2, 2)
                kernel = np.ascontiguousarray(kernel.transpose(1, 0, 2, 3))  # Conv weights: (Cout, Cin, kh, kw)
                name = "%s_phase%d%d_weight" % (base, a, b)
                graph.initializer.append(numpy_helper.from_array(kernel, name))
                out = "%s_phase%d%d" % (base, a, b)
                inputs = [node.input[0], name] + ([bias] if bias else [])
                nodes.append(helper.make_node(
                    "Conv", inputs, [out], name=out, kernel_shape=[2, 2], strides=[1, 1],
                    pads=[pads[a][0], pads[b][0], pads[a][1], pads[b][1]]))
                phases.append(out)
        concat = base + "_phases"
        nodes.append(helper.make_node("Concat", phases, [concat], name=concat, axis=1))
        nodes.append(helper.make_node("DepthToSpace", [concat], [node.output[0]], name=base + "_interleave",
                                      blocksize=2, mode="DCR"))
        used.add(node.input[1])
        rewritten += 1
    still_used = {i for n in nodes for i in n.input}
    keep = [i for i in graph.initializer if i.name in still_used or i.name not in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


# ----------------------------------------------------------------------------------------------------------------
# float32 ONNX -> dynamically quantized int8 (weights int8 per output column, activations uint8 per run)

def _rewrite_weighted_matmuls(model, min_elements, rewrite):
    """Replaces each MatMul whose weight is a float 2-D initializer of at least `min_elements` values (the ViT's
    attention and MLP projections) by what `rewrite(node, w, base)` returns: (nodes, initializers, bytes after).
    Weights no other node reads are dropped. Returns (MatMuls rewritten, weight bytes before, after)."""
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    nodes, count, before, after, replaced = [], 0, 0, 0, set()
    for node in graph.node:
        weight_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        init = initializers.get(weight_name)
        if init is None or len(init.dims) != 2 or init.data_type != TensorProto.FLOAT or np.prod(init.dims) < min_elements:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(init).astype(np.float32)  # (K, N)
        new_nodes, new_initializers, size = rewrite(node, w, (node.name or node.output[0]).replace("/", "_"))
        nodes.extend(new_nodes)
        graph.initializer.extend(new_initializers)
        before += w.nbytes
        after += size
        consumers[weight_name] -= 1
        if consumers[weight_name] == 0:
            replaced.add(weight_name)
        count += 1
    keep = [i for i in graph.initializer if i.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    del graph.node[:]
    graph.node.extend(nodes)
    return count, before, after


def quantize_int8(model, min_elements=16384):
    """Dynamic int8 quantization of the MatMuls whose weight is a 2-D initializer (the ViT's attention and MLP
    projections: about 90 % of Sapiens' weights and of its backbone's multiply-adds), in the pattern ONNX Runtime's
    quantize_dynamic writes and its optimizer fuses into DynamicQuantizeMatMul: DynamicQuantizeLinear of the
    activation (uint8, one scale per run), MatMulInteger with symmetric int8 weights (one scale per output column,
    zero point 0), Cast to float, Mul by the product of the scales. Convolutions, normalisations and the decode head
    stay float32. Written here because ONNX Runtime's Python package (onnxruntime.quantization) is not packaged where
    this tool must run; the pattern is the same. Returns (MatMuls quantized, weight bytes before, after)."""
    from onnx import TensorProto, helper, numpy_helper

    def rewrite(node, w, base):
        column_max = np.abs(w).max(axis=0)
        scale = np.where(column_max > 0, column_max / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        q_name, s_name, z_name = base + "_w_int8", base + "_w_scale", base + "_w_zero"
        a_q, a_scale, a_zero = base + "_a_uint8", base + "_a_scale", base + "_a_zero"
        product, scales, as_float = base + "_int32", base + "_scales", base + "_float"
        nodes = [
            helper.make_node("DynamicQuantizeLinear", [node.input[0]], [a_q, a_scale, a_zero], name=base + "_quant"),
            helper.make_node("MatMulInteger", [a_q, q_name, a_zero, z_name], [product], name=base + "_matmul_int"),
            helper.make_node("Cast", [product], [as_float], name=base + "_cast", to=TensorProto.FLOAT),
            helper.make_node("Mul", [a_scale, s_name], [scales], name=base + "_scale"),
            helper.make_node("Mul", [as_float, scales], [node.output[0]], name=base + "_rescale"),
        ]
        initializers = [numpy_helper.from_array(q, q_name), numpy_helper.from_array(scale, s_name),
                        numpy_helper.from_array(np.zeros(scale.shape, np.int8), z_name)]
        return nodes, initializers, q.nbytes + 5 * scale.size

    return _rewrite_weighted_matmuls(model, min_elements, rewrite)


def quantize_q4(model, block_size=32, accuracy_level=4, min_elements=16384):
    """4-bit weight-only quantization of the same MatMuls as quantize_int8, as ONNX Runtime's MatMulNBits
    (com.microsoft) stores it: each output column's weights in blocks of `block_size` along K, each block with its
    own float scale and 4-bit zero point (asymmetric, the block's range widened to include 0), two values per byte
    (the first in the low nibble); scales (N, k_blocks); zero points packed the same way, (N, ceil(k_blocks / 2)).
    Activations stay float: at accuracy_level 4, ONNX Runtime's CPU kernel quantizes each row's block of A to int8
    internally (per row, so a picture's result does not depend on its batch-mates); 0 computes in float32. CUDA has
    kernels for MatMulNBits too. Returns (MatMuls quantized, weight bytes before, after)."""
    from onnx import helper, numpy_helper

    def rewrite(node, w, base):
        k, n = w.shape
        k_blocks = -(-k // block_size)
        padded = np.zeros((k_blocks * block_size, n), np.float32)
        padded[:k] = w
        blocks = padded.T.reshape(n, k_blocks, block_size)
        low = np.minimum(blocks.min(axis=2), 0.0)
        high = np.maximum(blocks.max(axis=2), 0.0)
        scale = ((high - low) / 15.0).astype(np.float32)
        scale = np.where(scale > 0, scale, np.float32(1.0))
        zero = np.clip(np.rint(-low / scale), 0, 15).astype(np.uint8)
        q = np.clip(np.rint(blocks / scale[:, :, None]) + zero[:, :, None], 0, 15).astype(np.uint8)
        packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)  # (N, k_blocks, block_size / 2)
        zero_padded = np.zeros((n, k_blocks + (k_blocks & 1)), np.uint8)
        zero_padded[:, :k_blocks] = zero
        zero_packed = (zero_padded[:, 0::2] | (zero_padded[:, 1::2] << 4)).astype(np.uint8)
        names = base + "_w_q4", base + "_w_scales", base + "_w_zero_points"
        attributes = dict(K=k, N=n, bits=4, block_size=block_size)
        if accuracy_level:
            attributes["accuracy_level"] = accuracy_level
        nodes = [helper.make_node("MatMulNBits", [node.input[0], *names], [node.output[0]], name=base + "_q4",
                                  domain="com.microsoft", **attributes)]
        initializers = [numpy_helper.from_array(packed, names[0]), numpy_helper.from_array(scale, names[1]),
                        numpy_helper.from_array(zero_packed, names[2])]
        return nodes, initializers, packed.nbytes + scale.nbytes + zero_packed.nbytes

    count, before, after = _rewrite_weighted_matmuls(model, min_elements, rewrite)
    if count and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return count, before, after


# ----------------------------------------------------------------------------------------------------------------
# saving and structural validation

def tensor_bytes(model):
    import onnx

    total = 0
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            total += next((int(e.value) for e in init.external_data if e.key == "length"), 0)
        else:
            total += init.ByteSize()
    return total


def save(model, out, external):
    import onnx

    data = out.with_name(out.name + "_data")
    for stale in (out, data):
        if stale.exists():
            stale.unlink()  # onnx appends to an existing data file
    if external:
        onnx.save_model(model, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024, convert_attribute=True)
    else:
        onnx.save_model(model, str(out))
    return data if external else None


def describe_output(model):
    import onnx

    (value,) = model.graph.output
    tensor = value.type.tensor_type
    dims = [d.dim_param if d.dim_param else d.dim_value for d in tensor.shape.dim]
    return value.name, onnx.TensorProto.DataType.Name(tensor.elem_type), dims


# ----------------------------------------------------------------------------------------------------------------
# check against TorchScript

def compare(reference, actual):
    diff = np.abs(actual.astype(np.float64) - reference.astype(np.float64))
    agree = (actual.argmax(axis=1) == reference.argmax(axis=1))
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "reference_max_abs": float(np.abs(reference).max()),
        "argmax_agreement_percent": float(agree.mean() * 100),
    }


def check(module, onnx_path, args, tolerances):
    import torch

    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.check_batch, 3, args.height, args.width, generator=generator, dtype=torch.float32)
    start = time.time()
    with torch.no_grad():
        reference = module(x)
        if isinstance(reference, (tuple, list)):
            reference = reference[0]
        reference = reference.float().numpy()
        log("TorchScript reference: batch %d, logits %s in %.1f s" % (args.check_batch, list(reference.shape), time.time() - start))
        # The families the Java runtime serves (model/ModelFamily): Sapiens 28 classes and the foreground model's 1
        # at half resolution, Sapiens2 29 at full resolution.
        half, full = (args.height // 2, args.width // 2), (args.height, args.width)
        families = {(28, half): "sapiens", (1, half): "foreground", (29, full): "sapiens2"}
        family = families.get((reference.shape[1], tuple(reference.shape[2:]))) if reference.ndim == 4 else None
        if family is None:
            log("warning: the Java runtime expects logits (batch, 28 or 1, %d, %d) or (batch, 29, %d, %d), not %s:"
                " it will refuse this model" % (half + full + (list(reference.shape),)))
        else:
            log("model family: %s" % family)
        if args.check_batch > 1:
            # The ONNX batch axis is only as dynamic as the trace: the batch must not have been baked into it.
            single = module(x[-1:])
            single = (single[0] if isinstance(single, (tuple, list)) else single).float().numpy()
            drift = float(np.abs(single - reference[-1:]).max())
            log("TorchScript batch of %d vs the last image alone: max abs diff %.3g" % (args.check_batch, drift))
            if drift > tolerances["atol"] + 1e-4 * float(np.abs(single).max()):
                log("FAIL: the TorchScript model does not treat a batch as independent images (traced with a fixed batch?)")
                return 1
    if args.reference_dir:
        ref_dir = Path(args.reference_dir)
        ref_dir.mkdir(parents=True, exist_ok=True)
        np.save(ref_dir / "input.npy", x.numpy())
        np.save(ref_dir / "torchscript_logits.npy", reference)
        (ref_dir / "reference.json").write_text(json.dumps({
            "onnx": str(onnx_path), "precision": args.precision, "seed": args.seed, "input": "input.npy",
            "logits": "torchscript_logits.npy", "input_name": "input", "output_name": "logits",
            "tolerances": tolerances}, indent=2) + "\n")
        log("saved the seeded input and the TorchScript logits to %s (input.npy, torchscript_logits.npy)" % ref_dir)
    try:
        import onnxruntime
    except ImportError:
        log("NOT CHECKED: Python onnxruntime is not importable here, so the ONNX model was not run "
            "(pip install onnxruntime, or check the files saved with --reference-dir with another runtime)")
        return 0
    start = time.time()
    try:
        session = onnxruntime.InferenceSession(str(onnx_path), onnxruntime.SessionOptions(),
                                               providers=["CPUExecutionProvider"])
        if args.precision == "int8":  # a fixed batch of 1
            actual = np.concatenate([session.run(["logits"], {"input": x[i:i + 1].numpy()})[0] for i in range(len(x))])
        else:
            (actual,) = session.run(["logits"], {"input": x.numpy()})
    except Exception as e:  # noqa: BLE001 - a model the CPU provider cannot load or run is a failed check
        log("FAIL: ONNX Runtime %s (CPU) could not run the model: %s" % (onnxruntime.__version__, e))
        return 1
    log("ONNX Runtime %s (CPU): logits %s in %.1f s" % (onnxruntime.__version__, list(actual.shape), time.time() - start))
    if actual.shape != reference.shape:
        log("FAIL: ONNX logits shape %s differs from TorchScript's %s" % (list(actual.shape), list(reference.shape)))
        return 1
    stats = compare(reference, actual)
    limit = tolerances["atol"] + tolerances["rtol"] * stats["reference_max_abs"]
    log("ONNX vs TorchScript: max abs diff %.3g (limit %.3g), mean abs diff %.3g, argmax agreement %.4f%% (minimum %.2f%%)"
        % (stats["max_abs_diff"], limit, stats["mean_abs_diff"], stats["argmax_agreement_percent"],
           tolerances["min_agreement"]))
    if stats["max_abs_diff"] > limit or stats["argmax_agreement_percent"] < tolerances["min_agreement"]:
        log("FAIL: beyond tolerance")
        return 1
    log("OK: the ONNX model matches TorchScript within tolerance")
    return 0


# ----------------------------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("torchscript", help="TorchScript checkpoint (e.g. sapiens_0.3b_..._torchscript.pt2), or an "
                        "fp32 ONNX export (e.g. onnx-community's onnx/model.onnx) to rewrite and convert")
    parser.add_argument("output", help="ONNX file to write (.onnx)")
    parser.add_argument("--q4-block-size", type=int, default=32, help="q4: weights per quantization block (default 32)")
    parser.add_argument("--q4-accuracy-level", type=int, choices=[0, 1, 4], default=4,
                        help="q4: MatMulNBits accuracy_level: 4 lets the CPU compute in int8 per row block (default), "
                             "0 or 1 in float32")
    parser.add_argument("--precision", choices=["fp32", "fp16", "int8", "q4"], default="fp32",
                        help="fp16: weights and activations in half precision, LayerNorm in float32, float32 I/O; "
                        "int8: dynamic quantization of the MatMul weights (CPU pods, batch of 1); "
                        "q4: 4-bit MatMul weights as MatMulNBits (CPU and CUDA)")
    parser.add_argument("--fast-forms", dest="fast_forms", action="store_true", default=True,
                        help="rewrite stride-2 4x4 ConvTranspose as four 2x2 Conv + DepthToSpace (default)")
    parser.add_argument("--no-fast-forms", dest="fast_forms", action="store_false",
                        help="keep the graph as torch.onnx.export wrote it")
    parser.add_argument("--opset", type=int, default=MIN_OPSET, help="ONNX opset (default and minimum %d)" % MIN_OPSET)
    parser.add_argument("--height", type=int, default=1024, help="input height the checkpoint was traced at")
    parser.add_argument("--width", type=int, default=768, help="input width the checkpoint was traced at")
    parser.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                        help="weights in <output>_data beside the model: auto = when the model would exceed 2 GB")
    parser.add_argument("--keep-fp32", default="",
                        help="fp16: more op types to compute in float32, comma-separated (LayerNormalization always is)")
    parser.add_argument("--model-name", help="metadata sapiens.model (default: the output file name without .onnx)")
    parser.add_argument("--check", dest="check", action="store_true", default=True,
                        help="compare ONNX with TorchScript on a seeded random input (default)")
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the comparison")
    parser.add_argument("--check-batch", type=int, default=2,
                        help="images in the check (default 2: also proves the batch axis is dynamic)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the check's random input")
    parser.add_argument("--atol", type=float, help="absolute tolerance (default fp32 1e-3, fp16 5e-2)")
    parser.add_argument("--rtol", type=float, help="tolerance relative to the largest |logit| (default fp32 1e-4, fp16 1e-2)")
    parser.add_argument("--min-agreement", type=float, help="minimum argmax agreement in %% (default fp32 99.9, fp16 99.0)")
    parser.add_argument("--reference-dir", help="save the check's input and TorchScript logits as .npy here")
    parser.add_argument("--threads", type=int, default=0, help="PyTorch threads (default: PyTorch's choice)")
    args = parser.parse_args(argv)
    if args.opset < MIN_OPSET:
        parser.error("--opset %d: opset %d or later is required (LayerNormalization)" % (args.opset, MIN_OPSET))
    if not args.output.endswith(".onnx"):
        parser.error("the output file name must end with .onnx")
    if args.height % 2 or args.width % 2 or args.height <= 0 or args.width <= 0:
        parser.error("--height and --width must be positive and even")
    if args.check_batch < 1:
        parser.error("--check-batch must be at least 1")
    if args.reference_dir and not args.check:
        parser.error("--reference-dir needs the check")
    return args


def main(argv=None):
    args = parse_args(argv)
    tolerances = dict(DEFAULT_TOLERANCES[args.precision])
    for key in ("atol", "rtol", "min_agreement"):
        if getattr(args, key) is not None:
            tolerances[key] = getattr(args, key)
    source, out = Path(args.torchscript), Path(args.output).absolute()
    if not source.is_file():
        log("error: no such file: %s" % source)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".onnx":
        return convert_onnx(source, out, args)

    import onnx
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    log("PyTorch %s, onnx %s" % (torch.__version__, onnx.__version__))
    try:
        module = torch.jit.load(str(source), map_location="cpu").eval()
    except Exception as e:  # noqa: BLE001 - report any loading failure as such
        log("error: %s is not a TorchScript file PyTorch %s can load: %s" % (source, torch.__version__, e))
        return 2

    widened = torchscript_bfloat16_to_float32(module)
    if widened:
        log("bfloat16: %d dtype arguments and tensors of the TorchScript graph now float32 (PyTorch's exporter and ONNX"
            " Runtime's CPU provider cannot compute in bfloat16); the check compares with the unchanged TorchScript"
            % widened)
        args.bfloat16_removed = True
    with tempfile.TemporaryDirectory(prefix=".sapiens-export-", dir=str(out.parent)) as tmp:
        start = time.time()
        raw = Path(tmp) / "fp32.onnx"
        try:
            export_fp32(module, raw, args.height, args.width, args.opset)
        except Exception as e:  # noqa: BLE001
            log("error: torch.onnx.export failed: %s" % e)
            return 2
        model = onnx.load(str(raw))  # with any external data torch wrote beside it
        log("exported %s to ONNX opset %d in %.1f s" % (source.name, args.opset, time.time() - start))
    if len(model.graph.input) != 1 or [o.name for o in model.graph.output] != ["logits"]:
        log("error: expected one input and one output, got %s -> %s" % (
            [i.name for i in model.graph.input], [o.name for o in model.graph.output]))
        return 2
    if transform(model, args) != 0:
        return 2
    name = args.model_name or out.name[:-len(".onnx")]
    for key, value in (("sapiens.model", name), ("sapiens.precision", args.precision),
                       ("sapiens.source", source.name), ("sapiens.exporter", "deploy/export/sapiens_export.py")):
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    model.producer_name = "sapiens_export.py (torch %s)" % torch.__version__
    if write(model, out, args) != 0:
        return 2
    if not args.check:
        log("not checked (--no-check)")
        return 0
    if getattr(args, "bfloat16_removed", False):
        # The reference is the TorchScript as published, bfloat16 and all; float32 differs from it by bfloat16's
        # rounding (8 bits of mantissa), so the check allows what it allows an fp16 export.
        for key, relaxed in DEFAULT_TOLERANCES["fp16"].items():
            tolerances[key] = min(tolerances[key], relaxed) if key == "min_agreement" else max(tolerances[key], relaxed)
        del module
        module = torch.jit.load(str(source), map_location="cpu").eval()
    return check(module, out, args, tolerances)


def transform(model, args):
    """bfloat16 removed, the faster forms, then the precision. Returns 0, or 2 after logging an error."""
    casts, constants = remove_bfloat16(model)
    if casts or constants:
        log("bfloat16: %d casts and %d constants now float32 (ONNX Runtime cannot run bfloat16 arithmetic on the CPU);"
            " the check allows for the difference" % (casts, constants))
        args.bfloat16_removed = True
    if args.fast_forms:
        start = time.time()
        n = deconv_to_subpixel(model)
        log("rewrote %d ConvTranspose (4x4, stride 2) as 2x2 Conv phases + DepthToSpace in %.1f s" % (n, time.time() - start))
    if args.precision == "int8":
        start = time.time()
        count, before, after = quantize_int8(model)
        if count == 0:
            log("error: int8: no MatMul with a 2-D weight initializer to quantize")
            return 2
        log("int8: %d MatMuls quantized dynamically (weights %.1f MB -> %.1f MB) in %.1f s"
            % (count, before / 1e6, after / 1e6, time.time() - start))
        # DynamicQuantizeLinear takes one scale for the whole tensor: in a batch, a picture's result would depend on
        # the pictures beside it. A fixed batch of 1 keeps each picture to its own scale (the service then never batches).
        for value in (model.graph.input[0], model.graph.output[0]):
            dim = value.type.tensor_type.shape.dim[0]
            dim.Clear()
            dim.dim_value = 1
        log("int8: batch fixed to 1 (activations are quantized with one scale per run)")
    if args.precision == "q4":
        start = time.time()
        count, before, after = quantize_q4(model, args.q4_block_size, args.q4_accuracy_level)
        if count == 0:
            log("error: q4: no MatMul with a 2-D weight initializer to quantize")
            return 2
        log("q4: %d MatMuls as MatMulNBits (4-bit, blocks of %d, accuracy level %d; weights %.1f MB -> %.1f MB) in %.1f s"
            % (count, args.q4_block_size, args.q4_accuracy_level, before / 1e6, after / 1e6, time.time() - start))
    if args.precision == "fp16":
        keep = tuple(ALWAYS_FP32) + tuple(op for op in args.keep_fp32.split(",") if op)
        try:
            kept = to_fp16(model, keep)
        except ExportError as e:
            log("error: %s" % e)
            return 2
        log("converted to fp16 with float32 input and output; computed in float32: %s"
            % (", ".join("%d %s" % (n, op) for op, n in sorted(kept.items())) or "nothing"))
    return 0


def write(model, out, args):
    """Saves (external data when needed) and runs onnx.checker. Returns 0, or 2 after logging an error."""
    import onnx

    size = tensor_bytes(model)
    external = args.external_data == "always" or (args.external_data == "auto" and size + 64 * 2**20 > PROTO_LIMIT)
    if args.external_data == "never" and size + 64 * 2**20 > PROTO_LIMIT:
        log("error: %.2f GB of weights do not fit in one ONNX file (2 GB protobuf limit): use --external-data auto" % (size / 1e9))
        return 2
    output_name, output_type, dims = describe_output(model)
    data = save(model, out, external)
    del model
    try:
        onnx.checker.check_model(str(out), full_check=True)
    except Exception as e:  # noqa: BLE001
        log("error: the written model fails onnx.checker: %s" % e)
        return 2
    log("wrote %s (%.1f MB)%s" % (out, out.stat().st_size / 1e6,
                                  " + %s (%.1f MB of weights)" % (data.name, data.stat().st_size / 1e6) if data else ""))
    log("onnx.checker: OK (full check); output %s: %s %s" % (output_name, output_type, dims))
    return 0


def convert_onnx(source, out, args):
    """An existing fp32 ONNX export in, the faster forms and the precision applied, out. There is no TorchScript to
    compare with: compare the two ONNX models with the runtime that serves them."""
    import onnx

    log("onnx %s: converting the ONNX model %s" % (onnx.__version__, source))
    try:
        model = onnx.load(str(source))  # with its external data, from beside it
    except Exception as e:  # noqa: BLE001
        log("error: %s is not an ONNX model onnx %s can load: %s" % (source, onnx.__version__, e))
        return 2
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        log("error: expected one input and one output, got %s -> %s" % (
            [i.name for i in model.graph.input], [o.name for o in model.graph.output]))
        return 2
    if transform(model, args) != 0:
        return 2
    props = {p.key: p for p in model.metadata_props}
    for key, value in (("sapiens.model", args.model_name or out.name[:-len(".onnx")]),
                       ("sapiens.precision", args.precision), ("sapiens.source", source.name),
                       ("sapiens.exporter", "deploy/export/sapiens_export.py")):
        if key in props:
            props[key].value = value
        else:
            model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    if write(model, out, args) != 0:
        return 2
    log("not checked against TorchScript (the input is ONNX): compare %s with %s on the serving runtime" % (out, source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
