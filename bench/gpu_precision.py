#!/usr/bin/env python3
"""GPU precisions on the CPU: how much TF32, bf16 and fp16 change the Sapiens class map compared with fp32, measured
by emulating each precision in PyTorch (no GPU needed), same model, same pictures.

  nice -n 10 /usr/bin/python3 bench/gpu_precision.py [--work /var/tmp/sapiens-precision] [--sizes tiny,0.3b:1]
        [--pictures 6] [--precisions tf32,bf16,fp16] [--budget 1500]
  /usr/bin/python3 bench/gpu_precision.py --checkpoint sapiens_0.3b_..._torchscript.pt2 --pictures 6
        # the same measurement on real weights, still emulated on the CPU (any TorchScript the installed PyTorch loads)
  /usr/bin/python3 bench/gpu_precision.py --checkpoint ..._torchscript.pt2 --device cuda
        # real weights on a real GPU: PyTorch's own TF32 (allow_tf32), bf16 and fp16 (model.to(dtype): LayerNorm's
        # scale and bias in fp16 too, unlike the fp16 export) - not emulated; never run here (no GPU)
  /usr/bin/python3 bench/gpu_precision.py --compare FP32_DIR OTHER_DIR [OTHER_DIR...]
        # agreement of the service's class maps (`segment --outputs class-npy`: <stem>_seg.npy) with a reference run

Needs Debian's python3-torch, python3-numpy, python3-opencv and libopenblas0-pthread (without it PyTorch uses the
reference BLAS and a 0.3b forward is about 10x slower). Everything runs on the CPU, 2 threads.

Models (--sizes, comma-separated, each SIZE or SIZE:PICTURES): `tiny` is src/test/python/tiny_sapiens.py's default
stand-in (the Sapiens structure, embed 32, depth 2, narrow head); 0.3b, 0.6b and 1b are the published widths, the
same generator with --size (0.3b is the smallest real architecture: 336 M parameters). Time here (2-core AMD EPYC):
tiny about 5 s per photo for all four; 0.3b, one 1024x768 forward takes about 1 minute in fp32 and the emulated ones
2 to 6 times that (rounding passes over 600 MB activations), about 15 minutes per photo. The weights are random (seed
0: the same model as bench/real_scale_benchmark.py's generated TorchScript): the classes mean nothing, the agreement
measures numerical drift only and overstates what a trained model loses (a random model has many near-tied logits).

Pictures: scikit-image's sample photographs at their real sizes (bench/precision_benchmark.py's helper: Debian's
python3-skimage package fetched with apt-get download and unpacked into --work, not installed), or --input, a folder
of your own. Each goes through Sapiens-Lite's pipeline (bench/torch_baseline.py: cv2.imread, INTER_LINEAR stretch to
768x1024, RGB, lite mean/std; logits bilinearly upsampled to the picture's size, then argmax).

What each precision is (emulated with a PyTorch dispatch mode, i.e. on every aten operator, eager or TorchScript):
  fp32  the reference: plain PyTorch CPU.
  tf32  CUDA with TF32 on (ONNX Runtime use_tf32=1, torch.backends.*.allow_tf32): both operands of every
        convolution, transposed convolution and matrix product (conv, mm, bmm, addmm, baddbmm) rounded to TF32 (10-bit
        mantissa: round-to-nearest-even of the low 13 bits of the float32, by int32 bit manipulation), bias and
        accumulation in float32, outputs float32.
  bf16  Sapiens' bf16 demos (model.to(torch.bfloat16), input cast to bfloat16): every weight, the input and every
        operator's floating output rounded to bfloat16, each operator computed in float32 (what GPU kernels do:
        bf16 storage, fp32 accumulation). Emulated because PyTorch 1.13's CPU bf16 kernels cannot stand in for a
        GPU: ConvTranspose2d fails in bf16 and bilinear upsampling in bf16 is wrong. The logits are upsampled in
        float32; the row "bf16, logits upsampled in bf16" rounds the upsampled logits to bf16 as well, which is what
        Sapiens' vis_seg.py does (F.interpolate on the bf16 result, then argmax: ties go to the first class).
  bf16-native  (optional cross-check) PyTorch 1.13's own CPU bf16 kernels, ConvTranspose2d computed in float32.
  fp16  this project's fp16 export on a GPU (deploy/export/README.md): weights, input and every operator's output
        rounded to float16 (a value beyond +-65504 becomes inf: counted), except LayerNorm, which takes its fp16
        input with float32 scale and bias, computes in float32 and rounds its output to fp16.
Per precision: agreement (share of pixels whose class equals fp32's, median and min over pictures), the largest
|logit - fp32 logit| over the (28, 512, 384) logits of all pictures, and any NaN/inf (fp16/bf16: in any activation).
Prints a Markdown table and writes gpu-precision-results.json into --work. --budget bounds the run: a size's next
picture is skipped when the time measured so far says it would not finish within the budget.
"""
import argparse
import copy
import json
import math
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src/test/python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import precision_benchmark  # noqa: E402 - photos(): scikit-image's sample photographs
import real_scale_benchmark as scale  # noqa: E402 - log()
import tiny_sapiens  # noqa: E402 - the Sapiens-shaped stand-in generator
import torch_baseline  # noqa: E402 - segment(): Sapiens-Lite's pre- and post-processing

TINY = dict(embed=32, depth=2, heads=2, head_channels=16)  # tiny_sapiens.py's defaults

# -- rounding -----------------------------------------------------------------------------------------------------


def round_mantissa(x, dropped):
    """float32 -> float32 keeping 23 - dropped mantissa bits, round to nearest, ties to even (as cuBLAS/cuDNN convert
    float32 operands to TF32 with dropped=13; dropped=16 is bfloat16). Inf and NaN pass unchanged; a finite value
    that rounds past the largest one becomes inf, as IEEE rounding does."""
    bits = x.contiguous().view(torch.int32)
    rounded = bits >> dropped                            # (one temporary; the rest is in place)
    rounded &= 1                                         # the lowest kept bit: ties go to even
    rounded += (1 << (dropped - 1)) - 1                  # + half an ulp (minus one: exactly half rounds to even)
    rounded += bits
    rounded &= -(1 << dropped)                           # clear the dropped bits
    if x.numel() and not math.isfinite(float(torch.aminmax(x.detach()).max)):  # inf or NaN present: keep them
        rounded = torch.where((bits & 0x7F800000) == 0x7F800000, bits, rounded)
    return rounded.view(torch.float32)


def to_tf32(x):
    return round_mantissa(x, 13)


def to_fp16(x):
    return x.half().float()  # IEEE round to nearest even; beyond the fp16 range: inf


def to_bf16(x):
    return x.bfloat16().float()  # c10::BFloat16 rounds to nearest even


def self_check():
    """The rounding matches the definition on known values, and agrees with the native conversions where the formats
    coincide (fp16 has TF32's 10-bit mantissa on its normal range; bf16 is dropped=16)."""
    f = lambda bits: np.array(bits, dtype=np.uint32).view(np.float32)  # noqa: E731
    known = [  # (float32 bits, expected TF32 bits)
        (0x3F800000, 0x3F800000),  # 1.0: exact
        (0x3F801000, 0x3F800000),  # 1 + 2^-11: exactly half an ulp above 1 (even) -> 1
        (0x3F803000, 0x3F804000),  # 1 + 3*2^-11: half an ulp above 1 + 2^-10 (odd) -> 1 + 2^-9
        (0x3F801001, 0x3F802000),  # just above half -> up
        (0x3F800FFF, 0x3F800000),  # just below half -> down
        (0xBF803000, 0xBF804000),  # negative: symmetric
        (0x3FFFF000, 0x40000000),  # carry into the exponent: 2 - 2^-11 -> 2
        (0x7F7FFFFF, 0x7F800000),  # the largest float32 is past TF32's largest + half an ulp -> inf
        (0x7F800000, 0x7F800000),  # inf
        (0xFF800000, 0xFF800000),  # -inf
        (0x00000001, 0x00000000),  # the smallest subnormal -> 0
    ]
    values = torch.from_numpy(f([k for k, _ in known]))
    got = to_tf32(values).view(torch.int32).numpy().view(np.uint32)
    for (before, want), have in zip(known, got):
        assert have == want, "TF32 rounding of 0x%08X gave 0x%08X, expected 0x%08X" % (before, have, want)
    assert torch.isnan(to_tf32(torch.tensor([float("nan")]))).all()
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1_000_000, generator=generator) * torch.exp(torch.randn(1_000_000, generator=generator) * 3)
    normal = sample[(sample.abs() >= 2 ** -14) & (sample.abs() <= 65504)]
    assert torch.equal(to_tf32(normal), to_fp16(normal)), "TF32 and fp16 rounding differ on fp16's normal range"
    assert torch.equal(round_mantissa(sample, 16), to_bf16(sample)), "bit rounding and torch.bfloat16 differ"
    halfway = torch.from_numpy(f([0x3F808000, 0x3F818000]))  # bf16 ties: 1 + 2^-8 -> 1, 1 + 3*2^-8 -> 1 + 2^-6
    assert torch.equal(to_bf16(halfway), torch.from_numpy(f([0x3F800000, 0x3F820000])))
    return "TF32/bf16 rounding self-check: %d known values and 2e6 random ones OK" % len(known)


# -- the precisions, as a dispatch mode ---------------------------------------------------------------------------

# tensor-core operators and the positions of their two operands (bias / added matrix stays float32)
OPERANDS = {"convolution": (0, 1), "_convolution": (0, 1), "mm": (0, 1), "bmm": (0, 1), "addmm": (1, 2),
            "baddbmm": (1, 2), "addbmm": (1, 2), "matmul": (0, 1), "linear": (0, 1),
            # fused attention (PyTorch 2.x traces; not in 1.13): query, key and value
            "scaled_dot_product_attention": (0, 1, 2), "_scaled_dot_product_flash_attention": (0, 1, 2),
            "_scaled_dot_product_flash_attention_for_cpu": (0, 1, 2),
            "_scaled_dot_product_efficient_attention": (0, 1, 2)}
PRODUCT_HINTS = ("conv", "mm", "matmul", "linear", "attention", "einsum")  # names that should be in OPERANDS
FACTORIES = ("empty", "new_empty", "empty_like", "empty_strided", "_empty_affine_quantized")


class Precision(TorchDispatchMode):
    """Runs every aten operator as `kind` would on a GPU (see the module docstring). Counts non-finite activations
    (fp16/bf16) and keeps the largest |activation| seen before rounding, per operator."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.rnd = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(kind)
        self.largest = {"fp16": 65504.0, "bf16": float(torch.finfo(torch.bfloat16).max)}.get(kind)
        self.tag = "_rounded_" + kind
        self.weights = {}     # rounded copies of the tensors from outside (weights, input), for this forward
        self.nonfinite = {}   # operator -> non-finite elements produced
        self.peak = {}        # operator -> largest finite |output| before rounding
        self.unhandled = set()  # tf32: operators that look like products but are not in OPERANDS

    def _round_input(self, name, i, t):
        if not (torch.is_tensor(t) and t.dtype == torch.float32) or getattr(t, self.tag, False):
            return t
        if self.kind == "fp16" and name == "native_layer_norm" and i in (2, 3):
            return t  # the fp16 export keeps LayerNorm's scale and bias in float32
        # Only tensors made outside the mode get here (everything made inside is tagged): the weights and the input,
        # alive for the whole forward, so their address identifies them.
        key = (t.data_ptr(), tuple(t.shape), tuple(t.stride()))
        if key not in self.weights:
            self.weights[key] = t.to(self.rnd).float()
        return self.weights[key]

    def _round_output(self, name, o):
        """Rounds a fresh float32 output in place (no temporary beyond the 16-bit copy), recording its peak and any
        value that became (or was) inf or NaN."""
        if not o.numel():
            return
        low, high = torch.aminmax(o)
        peak = max(-float(low), float(high))
        if math.isfinite(peak):
            self.peak[name] = max(self.peak.get(name, 0.0), peak)
        o.copy_(o.to(self.rnd))
        if not (peak < self.largest):  # NaN, inf, or at the top of the range: count exactly
            bad = int((~torch.isfinite(o)).sum())
            if bad:
                self.nonfinite[name] = self.nonfinite.get(name, 0) + bad

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if self.kind == "tf32":
            if name not in OPERANDS and any(hint in name for hint in PRODUCT_HINTS):
                self.unhandled.add(name)
            if name in OPERANDS:
                args = list(args)
                for i in OPERANDS[name]:
                    if torch.is_tensor(args[i]) and args[i].dtype == torch.float32:
                        args[i] = to_tf32(args[i])
            return func(*args, **kwargs)
        if self.kind == "bf16-native":
            if name in ("convolution", "_convolution") and args[6] and args[0].dtype == torch.bfloat16:
                args = [a.float() if torch.is_tensor(a) else a for a in args]  # no bf16 ConvTranspose on 1.13 CPU
                return func(*args, **kwargs).bfloat16()
            return func(*args, **kwargs)
        if name.startswith(FACTORIES):  # uninitialised memory: nothing to round or count; whatever fills it
            out = func(*args, **kwargs)     # in place is rounded then
            for o in (out if isinstance(out, (tuple, list)) else (out,)):
                if torch.is_tensor(o):
                    setattr(o, self.tag, True)
            return out
        mutable = func._schema.is_mutable
        first = args[0] if args else None
        if mutable and torch.is_tensor(first) and first.dtype == torch.float32 and not getattr(first, self.tag, False):
            first.copy_(first.to(self.rnd))  # an in-place operator works on the tensor itself
        args = [[self._round_input(name, i, t) for t in a] if isinstance(a, (list, tuple)) else
                (a if (mutable and i == 0) else self._round_input(name, i, a)) for i, a in enumerate(args)]
        out = func(*args, **kwargs)
        aliasing = any(r.alias_info is not None for r in func._schema.returns)
        for o in (out if isinstance(out, (tuple, list)) else (out,)):
            if torch.is_tensor(o) and o.dtype == torch.float32:
                if not aliasing or mutable:  # a view of a rounded tensor is rounded already
                    self._round_output(name, o)
                setattr(o, self.tag, True)
        return out


# -- models, pictures, runs ---------------------------------------------------------------------------------------


def build(size):
    widths = TINY if size == "tiny" else tiny_sapiens.SIZES[size]
    return tiny_sapiens.build(widths["embed"], widths["depth"], widths["heads"], widths["head_channels"], seed=0)


def forward(models, precision, x, device):
    """The logits (float32, CPU) of the model on the preprocessed picture x, and the Precision mode's record.
    `models` maps a dtype to the model in that dtype (float32 always; bfloat16/float16 copies only where needed)."""
    with torch.no_grad():
        if device == "cuda":  # PyTorch's own GPU precisions: nothing emulated (never run here: no GPU)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
            logits = models[dtype](x.to("cuda", dtype))
            torch.cuda.synchronize()
            return logits.float().cpu(), None
        if precision == "fp32":
            return models[torch.float32](x), None
        mode = Precision(precision)
        with mode:
            if precision == "bf16-native":
                logits = models[torch.bfloat16](x.bfloat16()).float()
            else:
                logits = models[torch.float32](x)
        return logits.clone(), mode  # a plain tensor again (no tag)


def run_model(label, models, precisions, files, budget_end, device):
    """fp32 and each precision on every picture (stopping early at the budget); per precision the agreements, the
    largest logit difference, non-finite counts and forward times."""
    rows = {p: {"agreement": [], "agreement_bf16_upsampled": [], "max_abs_logit_diff": 0.0, "nonfinite_logits": 0,
                "nonfinite_activations": {}, "peak_activation": {}, "seconds": []} for p in ["fp32"] + precisions}
    context = {"max_abs_logit": 0.0, "top2_margin_median": [], "pictures": []}
    started = time.time()
    for index, path in enumerate(files):
        if index and time.time() + (time.time() - started) / index > budget_end:
            scale.log("%s: budget reached, stopping after %d pictures" % (label, index))
            break
        captured = {}

        def variant(precision):
            def call(x):
                t = time.time()
                logits, mode = forward(models, precision, x, device)
                captured[precision] = (logits, mode, time.time() - t)
                return logits
            return call

        _, reference = torch_baseline.segment(variant("fp32"), path)
        ref_logits = captured["fp32"][0]
        rows["fp32"]["seconds"].append(captured["fp32"][2])
        rows["fp32"]["agreement"].append(100.0)
        context["max_abs_logit"] = max(context["max_abs_logit"], float(ref_logits.abs().max()))
        context["pictures"].append("%s (%dx%d)" % (path.name, reference.shape[1], reference.shape[0]))
        with torch.no_grad():
            up = F.interpolate(ref_logits, size=reference.shape, mode="bilinear", align_corners=False)
            top2 = up.topk(2, dim=1).values
            context["top2_margin_median"].append(float((top2[:, 0] - top2[:, 1]).median()))
        line = ["fp32 %.1f s" % captured["fp32"][2]]
        for precision in precisions:
            _, classes = torch_baseline.segment(variant(precision), path)
            logits, mode, seconds = captured[precision]
            row = rows[precision]
            row["seconds"].append(seconds)
            row["agreement"].append(100.0 * float((classes == reference).mean()))
            finite = torch.isfinite(logits)
            row["nonfinite_logits"] += int((~finite).sum())
            diff = (logits - ref_logits).abs()[finite]
            row["max_abs_logit_diff"] = max(row["max_abs_logit_diff"], float(diff.max()) if diff.numel() else math.nan)
            if mode is not None:
                if mode.unhandled:
                    scale.log("WARNING: tf32 did not round the operands of %s" % ", ".join(sorted(mode.unhandled)))
                for name, count in mode.nonfinite.items():
                    row["nonfinite_activations"][name] = row["nonfinite_activations"].get(name, 0) + count
                for name, peak in mode.peak.items():
                    row["peak_activation"][name] = max(row["peak_activation"].get(name, 0.0), peak)
            if precision == "bf16":  # Sapiens' vis_seg.py: F.interpolate on the bf16 logits, then argmax
                with torch.no_grad():
                    up = to_bf16(F.interpolate(logits, size=reference.shape, mode="bilinear", align_corners=False))
                    row["agreement_bf16_upsampled"].append(100.0 * float((up.argmax(1)[0].numpy() == reference).mean()))
            line.append("%s %.1f s %.2f %%" % (precision, seconds, row["agreement"][-1]))
        scale.log("%s, %s: %s" % (label, path.name, ", ".join(line)))
    return rows, context


def compare(reference_dir, others):
    """Agreement of the service's class maps (<stem>_seg.npy, any sub-folders) with those of a reference run."""
    reference_dir = Path(reference_dir)
    scale.log("| run | pictures | agreement with %s (median) | (min) |" % reference_dir.name)
    scale.log("|---|---|---|---|")
    for other in others:
        other = Path(other)
        agreements = []
        for a in sorted(reference_dir.rglob("*_seg.npy")):
            b = other / a.relative_to(reference_dir)
            if b.exists():
                x, y = np.load(a), np.load(b)
                if x.shape != y.shape:
                    raise SystemExit("%s: shape %s, reference %s" % (b, y.shape, x.shape))
                agreements.append(100.0 * float((x == y).mean()))
        if not agreements:
            raise SystemExit("no <stem>_seg.npy of %s found in %s" % (reference_dir, other))
        scale.log("| %s | %d | %.2f %% | %.2f %% |" % (other.name, len(agreements), statistics.median(agreements),
                                                       min(agreements)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/var/tmp/sapiens-precision", help="photos and results (not the repo)")
    parser.add_argument("--sizes", default="tiny,0.3b:1",
                        help="models: tiny, 0.3b, 0.6b, 1b, each optionally :PICTURES (default: --pictures)")
    parser.add_argument("--pictures", type=int, default=6, help="photos per model (at most 6 scikit-image photos)")
    parser.add_argument("--input", help="a folder of your own pictures instead of scikit-image's photos")
    parser.add_argument("--precisions", default="tf32,bf16,fp16", help="compared with fp32; also: bf16-native")
    parser.add_argument("--checkpoint", help="a TorchScript checkpoint (real weights) instead of --sizes")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cuda: PyTorch's own precisions on a GPU instead of the emulation (needs --checkpoint)")
    parser.add_argument("--budget", type=float, default=1500, help="seconds; later pictures are skipped beyond it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", nargs="+", metavar="DIR",
                        help="REFERENCE_DIR OTHER_DIR...: agreement of class-npy outputs, then exit")
    args = parser.parse_args()
    if args.compare:
        if len(args.compare) < 2:
            parser.error("--compare needs a reference folder and at least one other")
        compare(args.compare[0], args.compare[1:])
        return
    if args.device == "cuda" and not args.checkpoint:
        parser.error("--device cuda measures real weights: give --checkpoint")
    if args.device == "cuda" and "bf16-native" in args.precisions:
        parser.error("bf16-native is a CPU cross-check; on a GPU bf16 is native already")
    start = time.time()
    budget_end = start + args.budget
    torch.set_num_threads(args.threads)
    with open("/proc/self/maps") as maps:
        blas = "OpenBLAS" if "openblas" in maps.read() else "reference BLAS (install libopenblas0-pthread)"
    scale.log("PyTorch %s, %d threads, BLAS: %s" % (torch.__version__, torch.get_num_threads(), blas))
    scale.log(self_check())
    precisions = [p for p in args.precisions.split(",") if p]
    unknown = set(precisions) - {"tf32", "bf16", "fp16", "bf16-native"}
    if unknown:
        parser.error("unknown precision(s): %s" % ", ".join(sorted(unknown)))
    work = Path(args.work)
    if args.input:
        photos = sorted(p for p in Path(args.input).iterdir()
                        if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"))
    else:
        photos = precision_benchmark.photos(work)

    if args.checkpoint:
        plan = [(Path(args.checkpoint).name, args.pictures)]
    else:
        plan = []
        for spec in args.sizes.split(","):
            size, _, count = spec.partition(":")
            if size != "tiny" and size not in tiny_sapiens.SIZES:
                parser.error("unknown size %s" % size)
            plan.append((size, int(count) if count else args.pictures))
    results = []
    for label, count in plan:
        t = time.time()
        if args.checkpoint and args.device == "cuda":
            models = {dtype: torch.jit.load(args.checkpoint, map_location="cuda").eval().to(dtype)
                      for dtype in (torch.float32, torch.bfloat16, torch.float16)}
        else:
            model = torch.jit.load(args.checkpoint, map_location="cpu").eval() if args.checkpoint else build(label)
            models = {torch.float32: model}
            if "bf16-native" in precisions:
                models[torch.bfloat16] = copy.deepcopy(model).to(torch.bfloat16)
            del model
        scale.log("%s: model ready in %.1f s" % (label, time.time() - t))
        files = photos[:count]
        rows, context = run_model(label, models, precisions, files, budget_end, args.device)
        results.append({"model": label, "rows": rows, "context": context})
        del models

    how = ("on the GPU (PyTorch's own precisions)" if args.device == "cuda" else
           "on the CPU (%s), GPU precisions emulated" % blas)
    scale.log("\n%s; %s; PyTorch %s %s; %s, %.0f s\n" % (
        ", ".join("%s: %s" % (r["model"], ", ".join(r["context"]["pictures"])) for r in results),
        "checkpoint weights" if args.checkpoint else "random weights", torch.__version__, how,
        time.strftime("%Y-%m-%d"), time.time() - start))
    scale.log("| model | precision | pictures | class agreement with fp32 (median) | (min) | max \\|logit − fp32\\| "
              "| NaN/inf | forward per picture (CPU) |")
    scale.log("|---|---|---|---|---|---|---|---|")
    for result in results:
        label = result["model"]
        for precision, row in result["rows"].items():
            if not row["seconds"]:
                continue
            pictures = len(row["seconds"])
            seconds = statistics.median(row["seconds"])
            if precision == "fp32":
                scale.log("| %s | fp32 (reference; logits up to ±%.1f, median top-2 margin %.2f) | %d | 100 %% | "
                          "100 %% | 0 | none | %.1f s |" % (
                              label, result["context"]["max_abs_logit"],
                              statistics.median(result["context"]["top2_margin_median"]), pictures, seconds))
                continue
            nonfinite = []
            if row["nonfinite_logits"]:
                nonfinite.append("%d logits" % row["nonfinite_logits"])
            if row["nonfinite_activations"]:
                nonfinite.append("activations: " + ", ".join("%s %d" % kv for kv in
                                                             sorted(row["nonfinite_activations"].items())))
            scale.log("| %s | %s | %d | %.2f %% | %.2f %% | %.3g | %s | %.1f s |" % (
                label, precision, pictures, statistics.median(row["agreement"]), min(row["agreement"]),
                row["max_abs_logit_diff"], "; ".join(nonfinite) or "none", seconds))
            if row["agreement_bf16_upsampled"]:
                scale.log("| %s | bf16, logits upsampled in bf16 (Sapiens' vis_seg.py) | %d | %.2f %% | %.2f %% | "
                          "— | — | — |" % (label, pictures, statistics.median(row["agreement_bf16_upsampled"]),
                                           min(row["agreement_bf16_upsampled"])))
    for result in results:
        fp16 = result["rows"].get("fp16")
        if fp16 and fp16["peak_activation"]:
            name, peak = max(fp16["peak_activation"].items(), key=lambda kv: kv[1])
            scale.log("\n%s, fp16: largest |activation| %.4g (in %s; fp16's largest finite value is 65504)" % (
                result["model"], peak, name))
    work.mkdir(parents=True, exist_ok=True)
    (work / "gpu-precision-results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
