#!/usr/bin/env python3
"""Real-scale benchmark: Sapiens-0.3B-shaped models (the exact architecture and size, random weights) served by this
project (ONNX Runtime: the export as torch.onnx writes it, downloaded from a URL in the default configuration, which
serves its faster form written at provisioning; the same file from a local path, as published; the export tool's
faster forms; int8), against PyTorch running the same TorchScript weights through the same pipeline, in one run on
this machine.

  ./mvnw -B package -DskipTests
  /usr/bin/python3 bench/real_scale_benchmark.py [--work /var/tmp/sapiens-scale] [--requests 3] [--pictures 4]

Needs Debian's python3-torch, python3-onnx, python3-numpy, python3-opencv and libopenblas0-pthread (PyTorch uses the
reference BLAS without it: a straw-man baseline). The models (1.4 GB each, generated on demand into --work, about
10 minutes the first time) are never committed. Everything runs on the CPU, one process at a time.

Per variant it measures:
  start -> ready   the service: process start to /q/health/ready UP; PyTorch: interpreter start to model loaded and
                   one warm-up forward done (what a PyTorch server would have to do before its first request)
  first request    latency of the first picture after ready
  latency          median of the following pictures (one at a time): a 1920x1080 JPEG, class PNG in the reply
  peak RSS         the process's high-water mark (VmHWM) while serving one picture at a time
  batch img/s      the batch command (or the PyTorch loop) over --pictures JPEGs, files written
  agreement        the batch command's class maps (_seg.npy) against those of the file as published (variant 2)
Prints a Markdown table, ratios against PyTorch in the same run. --check-logits also runs FastFormsCheck: one random
input through the published file and the faster form the service wrote, logits compared.
"""
import functools
import http.server
import shutil
import threading
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
GENERATOR = ROOT / "src/test/python/tiny_sapiens.py"
EXPORTER = ROOT / "deploy/export/sapiens_export.py"
APP = ROOT / "target/quarkus-app/quarkus-run.jar"
BASELINE = ROOT / "bench/torch_baseline.py"


def log(message):
    print(message, flush=True)


def run(command, **kwargs):
    log("$ " + " ".join(str(c) for c in command))
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def models(work, size):
    """The TorchScript (same weights as every ONNX variant) and the ONNX variants, generated when missing."""
    work.mkdir(parents=True, exist_ok=True)
    torchscript = work / ("sapiens-%s-random.pt2" % size)
    plain = work / ("sapiens-%s-random.onnx" % size)
    fast = work / ("sapiens-%s-random-fast.onnx" % size)
    int8 = work / ("sapiens-%s-random-int8.onnx" % size)
    if not torchscript.exists():
        run([PYTHON, GENERATOR, torchscript, "--size", size])
    if not plain.exists():
        run([PYTHON, EXPORTER, torchscript, plain, "--no-fast-forms", "--no-check"])
    if not fast.exists():
        run([PYTHON, EXPORTER, plain, fast])
    if not int8.exists():
        run([PYTHON, EXPORTER, plain, int8, "--precision", "int8"])
    # The first variant is the default: the published form downloaded from a URL (as a preset is), served in the faster
    # form the service writes beside the download. The second is the same file from a local path, served as it is.
    return torchscript, [("ONNX Runtime fp32, published form from a URL, default configuration", plain, "url", {}),
                         ("ONNX Runtime fp32, the same file as published (local path)", plain, "path", {}),
                         ("ONNX Runtime fp32, the export tool's faster forms", fast, "path", {}),
                         ("ONNX Runtime int8, faster forms", int8, "path", {"SAPIENS_EXECUTION_WARM_UP": "auto"})]


class FileServer:
    """The work folder over HTTP on localhost, as a model URL the service downloads from."""

    def __init__(self, folder, port):
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = port

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path.name)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def source_env(model, how, work, files):
    """The service's model settings: a local path, or a URL with a fresh cache folder (download and rewrite timed)."""
    if how == "path":
        return {"SAPIENS_MODEL_PATH": str(model)}
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    return {"SAPIENS_MODEL_URI": files.url(model), "SAPIENS_MODEL_CACHE_DIR": str(cache)}


def pictures(work, count):
    """Photo-like 1920x1080 JPEGs (smooth shapes and gradients, some texture), the same for every variant."""
    import cv2
    import numpy as np

    folder = work / "pictures"
    folder.mkdir(exist_ok=True)
    files = []
    for i in range(count):
        path = folder / ("photo-%02d.jpg" % i)
        if not path.exists():
            rng = np.random.default_rng(i)
            y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
            image = np.stack([x / 1920 * 200, y / 1080 * 180, (x + y) / 3000 * 160], axis=-1)
            for _ in range(12):
                cv2.ellipse(image, (int(rng.integers(0, 1920)), int(rng.integers(0, 1080))),
                            (int(rng.integers(40, 400)), int(rng.integers(40, 400))), float(rng.integers(0, 180)),
                            0, 360, [float(v) for v in rng.integers(0, 255, 3)], -1)
            image += rng.normal(0, 6, image.shape)
            cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
        files.append(path)
    return files


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def post(picture, port, request_id):
    body = picture.read_bytes()
    request = urllib.request.Request("http://localhost:%d/" % port, data=body, method="POST", headers={
        "ce-specversion": "1.0", "ce-id": request_id, "ce-source": "/bench", "ce-type": "sapiens.segment",
        "Content-Type": "image/jpeg"})
    start = time.time()
    with urllib.request.urlopen(request, timeout=1200) as response:
        reply = json.loads(response.read())
    return time.time() - start, reply


def serve(name, source, files, requests, port, env_extra):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", QUARKUS_HTTP_PORT=str(port), **source,
               SAPIENS_LIMITS_REQUEST_TIMEOUT="600s", OPENCV_IO_MAX_IMAGE_PIXELS="50000000", **env_extra)
    start = time.time()
    process = subprocess.Popen(["java", "-jar", str(APP)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("%s: the service exited with %s" % (name, process.returncode))
            try:
                with urllib.request.urlopen("http://localhost:%d/q/health/ready" % port, timeout=5) as r:
                    if r.status == 200:
                        break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.5)
        ready = time.time() - start
        log("%s: ready in %.1f s" % (name, ready))
        latencies, inference = [], []
        for i in range(requests):
            seconds, reply = post(files[i % len(files)], port, "bench-%d" % i)
            latencies.append(seconds)
            inference.append(reply["timings"]["inference"] / 1000)
            log("%s: request %d: %.1f s (inference %.1f s)" % (name, i, seconds, inference[-1]))
        peak = vm_hwm_kb(process.pid)
    finally:
        process.terminate()
        process.wait(60)
    return {"ready": ready, "first": latencies[0], "latency": statistics.median(latencies[1:] or latencies),
            "inference": statistics.median(inference[1:] or inference), "peak_gb": peak / 1e6}


def batch(name, source, files, work, number):
    out = work / ("out-%d" % number)
    listing = work / "pictures.txt"
    listing.write_text("".join("%s\n" % f for f in files))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    start = time.time()
    model = source.get("SAPIENS_MODEL_PATH") or source["SAPIENS_MODEL_URI"]
    cache = ["--cache-dir", source["SAPIENS_MODEL_CACHE_DIR"]] if "SAPIENS_MODEL_CACHE_DIR" in source else []
    result = subprocess.run(["/usr/bin/time", "-f", "%M", "java", "-jar", str(APP), "segment", "--model", model] + cache
                            + ["--input", str(listing), "--output", str(out), "--force", "--batch-size", "1",
                               "--outputs", "class-npy", "--progress", "log"], env=env, capture_output=True, text=True)
    seconds = time.time() - start
    if result.returncode != 0:
        raise RuntimeError("%s: segment failed:\n%s" % (name, result.stderr[-3000:]))
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    log("%s: batch of %d in %.1f s (%.3f img/s, peak RSS %.2f GB)" % (name, len(files), seconds,
                                                                       len(files) / seconds, peak_kb / 1e6))
    return {"batch_ips": len(files) / seconds, "batch_peak_gb": peak_kb / 1e6, "out": str(out)}


def agreement(out, reference):
    """Share of pixels whose class (_seg.npy) equals the reference run's, over every picture both wrote."""
    import numpy as np

    same = total = 0
    for mine in sorted(Path(out).glob("*_seg.npy")):
        theirs = Path(reference) / mine.name
        if not theirs.exists():
            continue
        a, b = np.load(mine), np.load(theirs)
        same += int((a == b).sum())
        total += a.size
    return 100.0 * same / total if total else float("nan")


def check_logits(work, published):
    """FastFormsCheck on the faster form the default variant's service wrote into its cache."""
    fast = next((work / "cache").rglob("*.fast.onnx"), None)
    if fast is None:
        log("no faster form in %s: nothing to check" % (work / "cache"))
        return
    run([str(ROOT / "mvnw"), "-B", "-o", "-q", "-f", str(ROOT / "pom.xml"), "exec:java", "-Dexec.classpathScope=test",
         "-Dexec.mainClass=dev.sapienseg.bench.FastFormsCheck", "-Dexec.args=%s %s" % (published, fast)])


def torch_baseline(torchscript, files, requests, work, threads):
    out = work / "out-torch"
    result = subprocess.run([PYTHON, str(BASELINE), str(torchscript), "--threads", str(threads),
                             "--requests", str(requests), "--output", str(out)] + [str(f) for f in files],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("PyTorch baseline failed:\n" + result.stderr[-3000:])
    log(result.stderr.strip())
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/var/tmp/sapiens-scale", help="models, pictures and outputs (not the repo)")
    parser.add_argument("--size", default="0.3b", choices=["0.3b", "0.6b", "1b"])
    parser.add_argument("--requests", type=int, default=3, help="pictures sent one at a time to each service")
    parser.add_argument("--pictures", type=int, default=4, help="pictures in the batch-command run")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--skip", default="", help="comma-separated variant numbers to skip (1-4 ONNX, 5 PyTorch)")
    parser.add_argument("--check-logits", action="store_true", help="compare the written faster form's logits")
    args = parser.parse_args()
    if not APP.exists():
        sys.exit("build the service first: ./mvnw -B package -DskipTests")
    work = Path(args.work)
    torchscript, variants = models(work, args.size)
    files = pictures(work, max(args.pictures, args.requests))
    threads = os.cpu_count()
    skip = {int(s) for s in args.skip.split(",") if s}
    rows = []
    server = FileServer(work, args.port + 1)
    for number, (name, model, how, env) in enumerate(variants, 1):
        if number in skip:
            continue
        source = source_env(model, how, work, server)
        row = {"name": name, "file": model.name, "size_gb": model.stat().st_size / 1e9, "number": number}
        row.update(serve(name, source, files, args.requests, args.port, env))
        row.update(batch(name, source, files[:args.pictures], work, number))  # a URL: from the cache just written
        rows.append(row)
    reference = next((r["out"] for r in rows if r["number"] == 2), None)
    for r in rows:
        r["agreement"] = agreement(r["out"], reference) if reference else float("nan")
    if args.check_logits and 1 not in skip:
        check_logits(work, variants[0][1])
    if 5 not in skip:
        row = {"name": "PyTorch %s fp32 (TorchScript, OpenBLAS, %d threads)" % ("1.13", threads),
               "file": torchscript.name, "size_gb": torchscript.stat().st_size / 1e9}
        row.update(torch_baseline(torchscript, files[:max(args.pictures, args.requests)], args.requests, work, threads))
        row["agreement"] = agreement(work / "out-torch", reference) if reference else float("nan")
        rows.append(row)
    torch_row = rows[-1] if rows and rows[-1]["name"].startswith("PyTorch") else None
    log("\n%d cores, %s, %s model (%s)\n" % (threads, time.strftime("%Y-%m-%d"), args.size, work))
    log("| variant | file | start → ready | first request | latency (median) | inference | peak RSS | batch img/s |"
        " batch peak RSS | classes as published | latency vs PyTorch |")
    log("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = "%.2f×" % (torch_row["latency"] / r["latency"]) if torch_row else "—"
        inference = "—" if r["inference"] != r["inference"] else "%.1f s" % r["inference"]  # NaN: not separable
        agree = "%.4f %%" % r["agreement"] if r.get("agreement", float("nan")) == r.get("agreement") else "—"
        log("| %s | %s (%.2f GB) | %.1f s | %.1f s | %.1f s | %s | %.2f GB | %.3f | %.2f GB | %s | %s |" % (
            r["name"], r["file"], r["size_gb"], r["ready"], r["first"], r["latency"], inference, r["peak_gb"],
            r["batch_ips"], r["batch_peak_gb"], agree, ratio))
    (work / "results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
