#!/usr/bin/env python3
"""The PyTorch baseline of bench/real_scale_benchmark.py: a TorchScript Sapiens segmentation model run through the
Sapiens-Lite pipeline (cv2.imread, INTER_LINEAR stretch to 768x1024, RGB, (x - mean) / std, forward, bilinear
F.interpolate to the original size, argmax), as Sapiens' own demo does it, on the CPU.

  torch_baseline.py MODEL.pt2 --threads 2 --requests 3 --output DIR PICTURE.jpg...

Prints progress on stderr and one JSON line on stdout: ready (interpreter start to model loaded and one warm-up
forward), first (first picture after ready), latency (median of the next ones; class PNG encoded, as the service's
reply), batch_ips (every picture again with Sapiens' files written: mask and class .npy, class PNG, overlay), peak RSS.
"""
import argparse
import json
import resource
import statistics
import sys
import time

START = time.time()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MEAN = np.array([123.5, 116.5, 103.5], dtype=np.float32)  # Sapiens-Lite, RGB
STD = np.array([58.5, 57.0, 57.5], dtype=np.float32)


def log(message):
    print(message, file=sys.stderr, flush=True)


def segment(model, path):
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    resized = cv2.resize(bgr, (768, 1024), interpolation=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
    x = torch.from_numpy(((rgb - MEAN) / STD).transpose(2, 0, 1).copy()).unsqueeze(0)
    with torch.no_grad():
        logits = model(x)
        upsampled = F.interpolate(logits, size=bgr.shape[:2], mode="bilinear", align_corners=False)
        classes = upsampled.argmax(dim=1)[0].numpy()
    return bgr, classes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("pictures", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = torch.jit.load(args.model, map_location="cpu").eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 1024, 768))  # warm-up
    ready = time.time() - START
    log("PyTorch %s (%d threads, BLAS: %s): ready in %.1f s" % (
        torch.__version__, torch.get_num_threads(), "OpenBLAS" if "openblas" in open("/proc/self/maps").read() else "?",
        ready))
    latencies = []
    for i in range(args.requests):
        start = time.time()
        _, classes = segment(model, args.pictures[i % len(args.pictures)])
        cv2.imencode(".png", classes.astype(np.uint8))
        latencies.append(time.time() - start)
        log("PyTorch: request %d: %.1f s" % (i, latencies[-1]))
    peak_serving = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import pathlib
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    palette = np.random.default_rng(0).integers(0, 255, (256, 3), dtype=np.uint8)
    for picture in args.pictures:
        bgr, classes = segment(model, picture)
        stem = out / pathlib.Path(picture).stem
        np.save(str(stem) + ".npy", classes > 0)
        np.save(str(stem) + "_seg.npy", classes.astype(np.int64))
        cv2.imwrite(str(stem) + "_seg.png", classes.astype(np.uint8))
        overlay = (0.5 * bgr + 0.5 * palette[classes][:, :, ::-1]).astype(np.uint8)
        cv2.imwrite(str(stem) + ".jpg", np.concatenate([bgr, overlay], axis=1))
    seconds = time.time() - start
    log("PyTorch: batch of %d in %.1f s" % (len(args.pictures), seconds))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ready": ready, "first": latencies[0], "latency": statistics.median(latencies[1:] or latencies),
                      "inference": float("nan"), "peak_gb": peak_serving / 1e6,
                      "batch_ips": len(args.pictures) / seconds, "batch_peak_gb": peak / 1e6}))


if __name__ == "__main__":
    main()
