"""A small model of the Sapiens segmentation architecture, traced and saved as TorchScript.

Stands in for the official `*_torchscript.pt2` checkpoints (traced at 1x3x1024x768, fp32) in the export tool's
tests. Same structure as /work/shared/sapiens-seg-spec.md describes, only narrower and shallower:

  ViT backbone: 16x16 patch embedding (Conv2d, stride 16) -> 64x48 = 3072 tokens, learned position embedding,
  no class token; `depth` pre-LayerNorm blocks (eps 1e-6): x + attn(ln1(x)), x + mlp(ln2(x)) with exact (erf)
  GELU; final LayerNorm; tokens back to a (B, embed, 64, 48) feature map.
  Decode head: 3 x [ConvTranspose2d k4 s2 p1 no bias -> InstanceNorm2d (affine off) -> SiLU] (x8),
  3 x [1x1 Conv2d -> InstanceNorm2d -> SiLU], 1x1 Conv2d to 28 classes -> raw logits (B, 28, 512, 384).

Usage: tiny_sapiens.py OUT.pt2 [--embed 32] [--depth 2] [--heads 2] [--head-channels 16] [--seed 0] [--classes 1]
       tiny_sapiens.py OUT.pt2 --size 0.3b        (the real architecture and size, random weights: benchmarks)
Prints one line of JSON describing the model and its logits on a seeded random input.

`--size` builds the published widths (spec: embed/depth/heads per size, decode head at 768 channels): 0.3b has
336 M parameters, a 1.34 GB fp32 TorchScript and ONNX, like the official export. Such models are generated on
demand for benchmarks (bench/real-scale-benchmark.sh) and never committed. Memory while tracing: about 3x the size.
"""
import argparse
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, dim * 4)
        self.fc2 = nn.Linear(dim * 4, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))  # exact GELU (erf)


def decode_head(channels, head_channels, deconvs, convs):
    """Sapiens' decode head: `deconvs` x [ConvTranspose2d k4 s2 p1 no bias -> InstanceNorm2d -> SiLU] (x2 each), then
    `convs` x [1x1 Conv2d -> InstanceNorm2d -> SiLU]. (The class convolution comes after it.)"""
    layers = []
    for _ in range(deconvs):
        layers += [nn.ConvTranspose2d(channels, head_channels, kernel_size=4, stride=2, padding=1, bias=False),
                   nn.InstanceNorm2d(head_channels), nn.SiLU()]
        channels = head_channels
    for _ in range(convs):
        layers += [nn.Conv2d(channels, head_channels, kernel_size=1), nn.InstanceNorm2d(head_channels), nn.SiLU()]
    return nn.Sequential(*layers)


class TinySapiensSeg(nn.Module):
    def __init__(self, embed=32, depth=2, heads=2, head_channels=16, classes=28, grid=(64, 48)):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, embed, kernel_size=16, stride=16)
        self.pos_embed = nn.Parameter(torch.randn(1, grid[0] * grid[1], embed) * 0.02)
        self.blocks = nn.ModuleList([Block(embed, heads) for _ in range(depth)])
        self.ln = nn.LayerNorm(embed, eps=1e-6)
        self.head = decode_head(embed, head_channels, deconvs=3, convs=3)
        self.cls_seg = nn.Conv2d(head_channels, classes, kernel_size=1)

    def forward(self, x):
        x = self.patch_embed(x)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.ln(x).transpose(1, 2).reshape(b, c, h, w)
        return self.cls_seg(self.head(x))


def build(embed, depth, heads, head_channels, seed, classes=28):
    torch.manual_seed(seed)
    model = TinySapiensSeg(embed, depth, heads, head_channels, classes).eval()
    with torch.no_grad():
        # Non-trivial LayerNorm affines (the fp16 export keeps them in fp32: make them matter) and logits with a
        # spread of a few units, so that argmax varies across the picture and over classes.
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
        model.cls_seg.weight.mul_(4.0)
    return model


# The published Sapiens sizes: embed, depth, heads (spec table); the decode head is 768 channels wide for all.
SIZES = {
    "0.3b": dict(embed=1024, depth=24, heads=16, head_channels=768),
    "0.6b": dict(embed=1280, depth=32, heads=16, head_channels=768),
    "1b": dict(embed=1536, depth=40, heads=24, head_channels=768),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--head-channels", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--classes", type=int, default=28,
                        help="output channels: 28 (body parts) or 1 (the foreground model, sapiens-seg-foreground-1b)")
    parser.add_argument("--size", choices=sorted(SIZES), help="a published size (overrides the four widths)")
    args = parser.parse_args()
    if args.size:
        for key, value in SIZES[args.size].items():
            setattr(args, key, value)
    torch.set_num_threads(args.threads)

    model = build(args.embed, args.depth, args.heads, args.head_channels, args.seed, args.classes)
    # traced at 1x3x1024x768, as the official checkpoints are
    trace_and_describe(model, args.out, args.seed, torch.randn(1, 3, 1024, 768))


def trace_and_describe(model, out, seed, example, **extra):
    """Traces `model` on `example`, saves the TorchScript to `out`, and prints one line of JSON describing it and its
    logits on a seeded random input (`extra` added to it): classes by argmax, or sigmoid > 0.3 for one channel."""
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        torch.jit.save(traced, out)
        probe = torch.randn(1, 3, 1024, 768, generator=torch.Generator().manual_seed(seed + 1))
        logits = torch.jit.load(out)(probe)
        eager = model(probe)
    channels = logits.shape[1]
    labels = logits.argmax(1) if channels > 1 else (logits.sigmoid() > 0.3).long()[:, 0]
    classes = torch.bincount(labels.flatten(), minlength=max(channels, 2))
    print(json.dumps({
        "out": out,
        "parameters": sum(p.numel() for p in model.parameters()),
        **extra,
        "logits_shape": list(logits.shape),
        "logits_std": round(float(logits.std()), 4),
        "classes_present": int((classes > 0).sum()),
        "largest_class_share": round(float(classes.max()) / logits[0, 0].numel(), 4),
        "traced_vs_eager_max_abs_diff": float((logits - eager).abs().max()),
    }))


if __name__ == "__main__":
    main()
