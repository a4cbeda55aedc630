"""PyTorch reference for Sapiens' post-processing, used by the Java tests and benchmarks.

  parity LOGITS C h w H W OUT   read float32 logits (C, h, w), write the int8 class map (H, W) that Sapiens computes:
                                F.interpolate(bilinear, align_corners=False) to (H, W), then argmax over classes
                                (sigmoid > 0.3 for one channel)
  alpha LOGITS C h w H W IDS OUT the soft alpha of the classes IDS (comma-separated) as uint8 (H, W):
                                round(255 * softmax(upsampled, dim=1)[IDS].sum()); one channel: the classes (0, logit)
  bench H W RUNS [C h w]        time that on random C x h x w logits (default 28x512x384) with 2 threads; print the
                                median in ms
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def segment(logits, size):
    up = F.interpolate(logits.unsqueeze(0), size=size, mode="bilinear", align_corners=False)
    if up.shape[1] == 1:
        return (up.sigmoid() > 0.3).squeeze(0).squeeze(0).to(torch.int8)
    return up.argmax(dim=1).squeeze(0).to(torch.int8)


def main():
    torch.set_num_threads(2)
    mode = sys.argv[1]
    if mode == "parity":
        path, c, h, w, out_h, out_w, out = sys.argv[2], *map(int, sys.argv[3:8]), sys.argv[8]
        logits = torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(c, h, w))
        with torch.no_grad():
            segment(logits, (out_h, out_w)).numpy().tofile(out)
    elif mode == "alpha":
        path, c, h, w, out_h, out_w, ids, out = sys.argv[2], *map(int, sys.argv[3:8]), sys.argv[8], sys.argv[9]
        logits = torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(c, h, w))
        if c == 1:
            logits = torch.cat([torch.zeros_like(logits), logits])
        with torch.no_grad():
            up = F.interpolate(logits.unsqueeze(0), size=(out_h, out_w), mode="bilinear", align_corners=False)
            share = up.softmax(dim=1)[0, [int(i) for i in ids.split(",")]].sum(dim=0)
            torch.round(255 * share).to(torch.uint8).numpy().tofile(out)
    elif mode == "bench":
        out_h, out_w, runs = map(int, sys.argv[2:5])
        c, h, w = map(int, sys.argv[5:8]) if len(sys.argv) >= 8 else (28, 512, 384)
        logits = torch.randn(c, h, w)
        times = []
        with torch.no_grad():
            for i in range(runs + 2):
                start = time.perf_counter()
                segment(logits, (out_h, out_w))
                if i >= 2:
                    times.append((time.perf_counter() - start) * 1000)
        print("%.1f" % float(np.median(times)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
