#!/usr/bin/env python3
"""Precision benchmark: CPU latency of fp32, int8 and q4 exports of a Sapiens-0.3B-shaped model (the exact
architecture and size, random weights), and how far each variant's class maps drift from fp32's on real photos, in
one run on this machine.

  ./mvnw -B package -DskipTests
  /usr/bin/python3 bench/precision_benchmark.py [--work /var/tmp/sapiens-scale] [--rounds 2]

The models come from bench/real_scale_benchmark.py's generator (src/test/python/tiny_sapiens.py --size 0.3b, then
deploy/export/sapiens_export.py: fp32 with the faster forms, --precision int8, --precision q4), generated on demand
into --work and never committed. The photos are scikit-image's sample photographs (Debian's python3-skimage package,
fetched with apt-get download and unpacked into --work, not installed): astronaut, camera(man), coffee, chelsea,
motorcycle, rocket.

Each variant runs through the batch command (`segment --outputs class-npy --batch-size 1`), one process at a time;
the rounds are interleaved (fp32, int8, q4, fp32, int8, q4, ...) so that a noisy neighbour hurts every variant alike.
Latency is the model-run time per picture that the summaries report (`timings.inference`), median over pictures and
rounds; peak RSS is the process's high-water mark. Agreement is the share of pixels whose class equals fp32's class
for the same picture. With random weights the classes mean nothing: agreement measures numerical drift only, not
segmentation quality.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_scale_benchmark as scale  # noqa: E402 - the same models and generator

PHOTOS = ["astronaut.png", "camera.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg"]


def photos(work):
    folder = work / "photos"
    if all((folder / name).exists() for name in PHOTOS):
        return [folder / name for name in PHOTOS]
    deb_dir = work / "skimage-deb"
    deb_dir.mkdir(parents=True, exist_ok=True)
    if not list(deb_dir.glob("python3-skimage_*.deb")):
        scale.run(["apt-get", "download", "python3-skimage"], cwd=deb_dir)
    deb = sorted(deb_dir.glob("python3-skimage_*.deb"))[-1]
    unpacked = deb_dir / "root"
    scale.run(["dpkg-deb", "-x", deb, unpacked])
    folder.mkdir(exist_ok=True)
    data = next(unpacked.glob("usr/lib/python3/dist-packages/skimage/data"))
    for name in PHOTOS:
        (folder / name).write_bytes((data / name).read_bytes())
    return [folder / name for name in PHOTOS]


def variants(work, size):
    torchscript, exported = scale.models(work, size)
    plain = next(model for name, model, env in exported if "as exported" in name)
    fast = next(model for name, model, env in exported if "faster forms" in name and "int8" not in name)
    int8 = next(model for name, model, env in exported if "int8" in name)
    q4 = work / ("sapiens-%s-random-q4.onnx" % size)
    if not q4.exists():
        scale.run([scale.PYTHON, scale.EXPORTER, plain, q4, "--precision", "q4"])
    q4_fp32 = work / ("sapiens-%s-random-q4-level0.onnx" % size)
    if not q4_fp32.exists():
        scale.run([scale.PYTHON, scale.EXPORTER, plain, q4_fp32, "--precision", "q4", "--q4-accuracy-level", "0"])
    return [("fp32 (faster forms)", fast), ("int8 (dynamic, MatMulInteger)", int8),
            ("q4 (MatMulNBits, int8 compute)", q4), ("q4 (MatMulNBits, fp32 compute)", q4_fp32)]


def segment(model, files, out):
    listing = out.parent / (out.name + ".txt")
    listing.write_text("".join("%s\n" % f for f in files))
    start = time.time()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", "java", "-jar", str(scale.APP), "segment", "--model",
                             str(model), "--input", str(listing), "--output", str(out), "--outputs", "class-npy",
                             "--force", "--batch-size", "1", "--progress", "log"],
                            env=dict(__import__("os").environ, OPENBLAS_NUM_THREADS="1"), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("segment failed for %s:\n%s" % (model.name, result.stderr[-3000:]))
    inference = []
    for f in files:
        summary = json.loads((out / (f.stem + ".json")).read_text())
        inference.append(summary["timings"]["inference"] / 1000)
    return {"inference": inference, "wall": time.time() - start,
            "peak_gb": int(result.stderr.strip().splitlines()[-1]) / 1e6}


def agreement(reference_dir, variant_dir, files):
    import numpy as np

    same = total = 0
    for f in files:
        a = np.load(reference_dir / (f.stem + "_seg.npy"))
        b = np.load(variant_dir / (f.stem + "_seg.npy"))
        same += int((a == b).sum())
        total += a.size
    return 100.0 * same / total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/var/tmp/sapiens-scale", help="models, photos and outputs (not the repo)")
    parser.add_argument("--size", default="0.3b", choices=["0.3b", "0.6b", "1b"])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds over all variants")
    args = parser.parse_args()
    if not scale.APP.exists():
        sys.exit("build the service first: ./mvnw -B package -DskipTests")
    work = Path(args.work)
    files = photos(work)
    models = variants(work, args.size)
    runs = {name: [] for name, _ in models}
    for round_number in range(args.rounds):
        for name, model in models:
            out = work / ("precision-%d-%s" % (round_number, model.stem))
            result = segment(model, files, out)
            result["out"] = out
            runs[name].append(result)
            scale.log("round %d, %s: inference %s s, peak RSS %.2f GB" % (
                round_number, name, ", ".join("%.1f" % s for s in result["inference"]), result["peak_gb"]))
    reference_name = models[0][0]
    reference = runs[reference_name][0]["out"]
    fp32_median = statistics.median(s for r in runs[reference_name] for s in r["inference"])
    scale.log("\n%s model with random weights, %d real photos (%s), %d rounds, %s\n" % (
        args.size, len(files), ", ".join(f.stem for f in files), args.rounds, time.strftime("%Y-%m-%d")))
    scale.log("| variant | file | model run per picture (median) | vs fp32 | peak RSS | class agreement with fp32 |")
    scale.log("|---|---|---|---|---|---|")
    rows = []
    for name, model in models:
        median = statistics.median(s for r in runs[name] for s in r["inference"])
        agree = [agreement(reference, r["out"], files) for r in runs[name]]
        row = {"name": name, "file": model.name, "size_gb": model.stat().st_size / 1e9, "median_s": median,
               "speedup": fp32_median / median, "peak_gb": max(r["peak_gb"] for r in runs[name]),
               "agreement_percent": min(agree), "inference_s": [r["inference"] for r in runs[name]]}
        rows.append(row)
        scale.log("| %s | %s (%.2f GB) | %.1f s | %.2f× | %.2f GB | %.2f %% |" % (
            name, model.name, row["size_gb"], median, row["speedup"], row["peak_gb"], row["agreement_percent"]))
    (work / "precision-results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
