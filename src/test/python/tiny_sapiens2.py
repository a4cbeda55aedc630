"""A small model of the Sapiens2 segmentation architecture, traced and saved as TorchScript.

Stands in for what Sapiens2's own `sapiens/dense/tools/deployment/pytorch2torchscript.py` writes (torch.jit.trace of
the segmentation model at 1x3x1024x768) in the export tool's tests. The operations are those of
`sapiens/backbones/standalone/sapiens2.py` and `sapiens/dense/src/models/heads/seg_head.py` (facebookresearch/sapiens2,
commit 3098c146), only narrower and shallower:

  Backbone: 16x16 patch embedding (Conv2d, stride 16) -> 64x48 tokens; a class token and storage tokens prepended;
  `depth` blocks x + attn(rms1(x)), x + swiglu(rms2(x)) with:
    - RMSNorm (eps 1e-6; written out, as Debian's PyTorch 1.13 has no nn.RMSNorm: x * rsqrt(mean(x^2) + eps) * w),
    - grouped-query attention: q, k, v projections, per-head RMSNorm of q and k, k and v repeated to the query heads
      (repeat_interleave), rotary position embedding on the patch tokens only (the extra tokens pass through),
      softmax(q k^T / sqrt(d)) v (what F.scaled_dot_product_attention computes; 1.13 has no such function),
    - the rotary sin/cos computed in bfloat16 (Sapiens2's default `pos_embed_rope_dtype="bf16"`): q and k are cast to
      bfloat16, rotated, and cast back, exactly as `GroupedQueryAttention.apply_rope` does,
    - a SwiGLU feed-forward (w12 -> chunk -> silu(x1) * x2 -> w3) and LayerScale;
  final RMSNorm; the patch tokens back to a (B, embed, 64, 48) feature map.
  Head: 4 x [ConvTranspose2d k4 s2 p1 no bias -> InstanceNorm2d -> SiLU] (x16: full resolution),
  2 x [1x1 Conv2d -> InstanceNorm2d -> SiLU], 1x1 Conv2d to 29 classes -> logits (B, 29, 1024, 768).

Usage: tiny_sapiens2.py OUT.pt2 [--embed 32] [--depth 2] [--heads 4] [--kv-heads 2] [--rope-dtype bf16|fp32]
Prints one line of JSON describing the model and its logits on a seeded random input.
"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tiny_sapiens import decode_head, trace_and_describe


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Rope(nn.Module):
    """RopePositionEmbedding(base=100, normalize_coords="separate") at inference: sin/cos of shape (H*W, head_dim)."""

    def __init__(self, head_dim, dtype, base=100.0):
        super().__init__()
        self.dtype = dtype
        periods = base ** (2 * torch.arange(head_dim // 4, dtype=dtype) / (head_dim // 2))
        self.register_buffer("periods", periods)

    def forward(self, h: int, w: int):
        dd = {"dtype": self.dtype}
        coords_h = torch.arange(0.5, h, **dd) / h
        coords_w = torch.arange(0.5, w, **dd) / w
        coords = torch.stack(torch.meshgrid(coords_h, coords_w, indexing="ij"), dim=-1).flatten(0, 1)
        coords = 2.0 * coords - 1.0
        angles = 2 * math.pi * coords[:, :, None] / self.periods[None, None, :]
        angles = angles.flatten(1, 2).tile(2)
        return torch.sin(angles), torch.cos(angles)


class GroupedQueryAttention(nn.Module):
    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.wq = nn.Linear(dim, dim)
        self.wk = nn.Linear(dim, kv_heads * self.head_dim)
        self.wv = nn.Linear(dim, kv_heads * self.head_dim)
        self.q_norm = RMSNorm(self.head_dim)
        self.k_norm = RMSNorm(self.head_dim)
        self.proj = nn.Linear(dim, dim)

    @staticmethod
    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([-x2, x1], dim=-1)

    def apply_rope(self, q, k, sin, cos):
        q_dtype, k_dtype = q.dtype, k.dtype
        q = q.to(dtype=sin.dtype)
        k = k.to(dtype=sin.dtype)
        prefix = q.shape[-2] - sin.shape[-2]
        q = torch.cat((q[:, :, :prefix, :], q[:, :, prefix:, :] * cos + self.rotate_half(q[:, :, prefix:, :]) * sin), dim=-2)
        k = torch.cat((k[:, :, :prefix, :], k[:, :, prefix:, :] * cos + self.rotate_half(k[:, :, prefix:, :]) * sin), dim=-2)
        return q.to(dtype=q_dtype), k.to(dtype=k_dtype)

    def forward(self, x, sin, cos):
        b, n, c = x.shape
        q = self.wq(x).view(b, n, self.heads, self.head_dim).permute(0, 2, 1, 3)
        k = self.wk(x).view(b, n, self.kv_heads, self.head_dim).permute(0, 2, 1, 3)
        v = self.wv(x).view(b, n, self.kv_heads, self.head_dim).permute(0, 2, 1, 3)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.kv_heads != self.heads:
            factor = self.heads // self.kv_heads
            k = k.repeat_interleave(factor, dim=1)
            v = v.repeat_interleave(factor, dim=1)
        q, k = self.apply_rope(q, k, sin, cos)
        attn = (q @ k.transpose(-2, -1)) * (self.head_dim ** -0.5)
        out = (attn.softmax(dim=-1) @ v).permute(0, 2, 1, 3).reshape(b, n, c)
        return self.proj(out)


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x):
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class Block(nn.Module):
    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.ln1 = RMSNorm(dim)
        self.attn = GroupedQueryAttention(dim, heads, kv_heads)
        self.gamma1 = nn.Parameter(torch.full((dim,), 0.5))
        self.ln2 = RMSNorm(dim)
        self.ffn = SwiGLU(dim, dim * 2)
        self.gamma2 = nn.Parameter(torch.full((dim,), 0.5))

    def forward(self, x, sin, cos):
        x = x + self.gamma1 * self.attn(self.ln1(x), sin, cos)
        return x + self.gamma2 * self.ffn(self.ln2(x))


class TinySapiens2Seg(nn.Module):
    def __init__(self, embed=32, depth=2, heads=4, kv_heads=2, storage=2, head_channels=16, classes=29,
                 rope_dtype=torch.bfloat16):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, embed, kernel_size=16, stride=16)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed) * 0.02)
        self.storage_tokens = nn.Parameter(torch.randn(1, storage, embed) * 0.02)
        self.extra = 1 + storage
        self.rope = Rope(embed // heads, rope_dtype)
        self.blocks = nn.ModuleList([Block(embed, heads, kv_heads) for _ in range(depth)])
        self.ln = RMSNorm(embed)
        self.head = decode_head(embed, head_channels, deconvs=4, convs=2)  # Sapiens2's SegHead, same blocks
        self.conv_seg = nn.Conv2d(head_channels, classes, kernel_size=1)

    def forward(self, x):
        x = self.patch_embed(x)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(b, -1, -1), self.storage_tokens.expand(b, -1, -1), x], dim=1)
        sin, cos = self.rope(h, w)
        for block in self.blocks:
            x = block(x, sin, cos)
        x = self.ln(x)[:, self.extra:].reshape(b, h, w, c).permute(0, 3, 1, 2)
        return self.conv_seg(self.head(x))


def build(args):
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.rope_dtype == "bf16" else torch.float32
    model = TinySapiens2Seg(args.embed, args.depth, args.heads, args.kv_heads, args.storage, args.head_channels,
                            rope_dtype=dtype).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, RMSNorm):
                m.weight.uniform_(0.5, 1.5)
        model.conv_seg.weight.mul_(4.0)  # logits spread over a few units: argmax varies over the picture
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--storage", type=int, default=2)
    parser.add_argument("--head-channels", type=int, default=16)
    parser.add_argument("--rope-dtype", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = build(args)
    # torch.jit.trace on torch.rand at 1x3x1024x768, as pytorch2torchscript.py does
    trace_and_describe(model, args.out, args.seed, torch.rand(1, 3, 1024, 768), rope_dtype=args.rope_dtype)

if __name__ == "__main__":
    main()
