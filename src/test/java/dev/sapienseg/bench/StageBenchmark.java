package dev.sapienseg.bench;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.ToDoubleFunction;

import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.Logits;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.pipeline.ReferenceUpsampleArgmax;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.pipeline.UpsampleArgmax;

/**
 * Per-stage cost of the pipeline on photo-sized JPEGs, and the fused upsample+argmax against the plain
 * "interpolate every class plane, then argmax" approach, measured side by side in one run. Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.StageBenchmark
 * </pre>
 *
 * Medians over repeated runs after warm-up; machines are noisy, so compare numbers from the same run only.
 */
public final class StageBenchmark {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        System.out.printf("cores=%d, java=%s, runs=%d (medians)%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), runs);
        if (args.length > 1 && "upsample".equals(args[1])) { // only the fused kernel's comparison
            upsampleArgmax(runs);
            return;
        }
        if (args.length > 1 && "outputs".equals(args[1])) { // only the encoding cost of each picture output
            outputs(runs);
            return;
        }
        byte[] half = photoLikeJpeg(816, 612, 3);
        byte[] hd = photoLikeJpeg(1920, 1080, 1);
        byte[] twelve = photoLikeJpeg(4032, 3024, 2);
        System.out.printf("inputs: 816x612 JPEG %d KB, 1920x1080 JPEG %d KB, 4032x3024 JPEG %d KB%n", half.length / 1024,
                hd.length / 1024, twelve.length / 1024);

        ImageDecoder decoder = new ImageDecoder(new ImageLimits(100_000_000, 100_000_000));
        for (Path modelPath : List.of(FixtureModels.TINY_VIT, FixtureModels.PALETTE_DEMO)) {
            try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(modelPath))) {
                SegmentationPipeline pipeline = Pipelines.of(decoder, model, Normalization.LITE, 1,
                        Duration.ofMinutes(5));
                System.out.printf("%nmodel %s (%s)%n", model.name(), model.provider().label());
                System.out.println("| image | decode | preprocess | inference | postprocess | encode (class PNG) | total |");
        // (batching off: one session, batches of one; the queue stage is ~0)
                System.out.println("|---|---|---|---|---|---|---|");
                stages(pipeline, "816x612 JPEG (0.5 MP)", half, runs);
                stages(pipeline, "1920x1080 JPEG (2 MP)", hd, runs);
                stages(pipeline, "4032x3024 JPEG (12 MP)", twelve, Math.max(3, runs / 2));
                if (modelPath.equals(FixtureModels.PALETTE_DEMO)) {
                    cpuOutsideInference(pipeline, model, "noisy photo-like", hd, runs * 3);
                    cpuOutsideInference(pipeline, model, "figure (large uniform regions)", figureJpeg(1920, 1080), runs * 3);
                }
                pipeline.close();
            }
        }
        upsampleArgmax(runs);
    }

    /**
     * The encode stage per picture output, one output per request, side by side on the same pictures and model (the
     * palette demo: its class map has large regions like a real one's): the class PNG, the overlay, and the selection
     * mask and cutout of {@code person}.
     */
    private static void outputs(int runs) throws Exception {
        ImageDecoder decoder = new ImageDecoder(new ImageLimits(100_000_000, 100_000_000));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
                SegmentationPipeline pipeline = Pipelines.of(decoder, model, Normalization.LITE, 1,
                        Duration.ofMinutes(5))) {
            List<OutputKind> kinds = List.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY, OutputKind.SELECTION_MASK,
                    OutputKind.CUTOUT, OutputKind.ALPHA, OutputKind.RLE, OutputKind.POLYGONS, OutputKind.INSTANCES);
            System.out.println("| picture | " + String.join(" | ", kinds.stream().map(OutputKind::id).toList())
                    + " | (encode ms, medians; KB) |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|");
            for (int[] size : new int[][] {{1920, 1080}, {4032, 3024}}) {
                byte[] jpeg = figureJpeg(size[0], size[1]);
                StringBuilder row = new StringBuilder("| " + size[0] + "x" + size[1] + " JPEG |");
                StringBuilder kb = new StringBuilder();
                for (OutputKind kind : kinds) {
                    for (int i = 0; i < 2; i++) {
                        Pipelines.segment(pipeline, jpeg, EnumSet.of(kind));
                    }
                    List<StageTimings> timings = new ArrayList<>();
                    long bytes = 0;
                    for (int i = 0; i < runs; i++) {
                        Segmentation s = Pipelines.segment(pipeline, jpeg, EnumSet.of(kind));
                        timings.add(s.timings());
                        bytes = s.output(kind).length();
                    }
                    row.append(String.format(" %.1f |", median(timings, StageTimings::encode)));
                    kb.append(kb.length() == 0 ? "" : " / ").append(bytes / 1024);
                }
                System.out.println(row + " " + kb + " |");
            }
        }
    }

    private static void stages(SegmentationPipeline pipeline, String label, byte[] jpeg, int runs) {
        for (int i = 0; i < 3; i++) {
            Pipelines.segment(pipeline, jpeg, EnumSet.of(OutputKind.CLASS_PNG));
        }
        List<StageTimings> timings = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            Segmentation s = Pipelines.segment(pipeline, jpeg, EnumSet.of(OutputKind.CLASS_PNG));
            timings.add(s.timings());
        }
        System.out.printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n", label,
                median(timings, StageTimings::decode), median(timings, StageTimings::preprocess),
                median(timings, StageTimings::inference), median(timings, StageTimings::postprocess),
                median(timings, StageTimings::encode), median(timings, StageTimings::total));
    }

    /**
     * CPU time (all threads of the process) per picture for everything but inference: the whole request minus the
     * model run alone on the same buffers, each over {@code runs} repetitions.
     */
    private static void cpuOutsideInference(SegmentationPipeline pipeline, SegmentationModel model, String label,
            byte[] jpeg, int runs) throws Exception {
        for (int i = 0; i < 5; i++) {
            Pipelines.segment(pipeline, jpeg, EnumSet.of(OutputKind.CLASS_PNG));
        }
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long c0 = os.getProcessCpuTime();
        for (int i = 0; i < runs; i++) {
            Pipelines.segment(pipeline, jpeg, EnumSet.of(OutputKind.CLASS_PNG));
        }
        long whole = os.getProcessCpuTime() - c0;
        dev.sapienseg.pipeline.TensorBuffers buffers = new dev.sapienseg.pipeline.TensorBuffers(model, 1);
        long c1 = os.getProcessCpuTime();
        for (int i = 0; i < runs; i++) {
            buffers.run(model, 1);
        }
        long inference = os.getProcessCpuTime() - c1;
        System.out.printf("CPU time per 1920x1080 JPEG, %s, outside inference (decode, preprocess, postprocess, class PNG): "
                + "%.1f ms (request %.1f ms - inference %.1f ms, %d runs)%n", label, (whole - inference) / 1e6 / runs,
                whole / 1e6 / runs, inference / 1e6 / runs, runs);
    }

    /** Fused kernel vs materialising every class plane at full size, same logits, same run; plus allocation per call. */
    private static void upsampleArgmax(int runs) {
        // Sapiens v1: 28 classes at half resolution; Sapiens2: 29 at the input's full resolution.
        upsampleArgmax(runs, 28, 512, 384);
        upsampleArgmax(runs, 29, 1024, 768);
    }

    private static void upsampleArgmax(int runs, int classes, int h, int w) {
        Random random = new Random(1);
        FloatBuffer logits = FloatBuffer.allocate(classes * h * w);
        // Smooth fields with noise: region sizes like a real segmentation's, boundaries everywhere at small scale.
        for (int c = 0; c < classes; c++) {
            double fx = 0.01 + random.nextDouble() * 0.04;
            double fy = 0.01 + random.nextDouble() * 0.04;
            double phase = random.nextDouble() * 6;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    logits.put((c * h + y) * w + x,
                            (float) (4 * Math.sin(fx * x + phase) * Math.cos(fy * y - phase) + random.nextGaussian() * 0.1));
                }
            }
        }
        Logits view = new Logits(logits, 0, classes, h, w);
        System.out.printf("%nupsample+argmax of %dx%dx%d logits (ms, medians; MB allocated per call)%n", classes, h, w);
        System.out.printf("| output | fused | plain Java (%d planes, then argmax) | PyTorch 2 threads | plain / fused | PyTorch / fused | fused MB | plain MB |%n", classes);
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (int[] size : new int[][] {{1080, 1920}, {3024, 4032}}) {
            int outH = size[0];
            int outW = size[1];
            double[] fused = new double[runs];
            double[] plain = new double[Math.max(3, runs / 3)];
            long fusedBytes = 0;
            long plainBytes = 0;
            for (int i = 0; i < 3; i++) {
                UpsampleArgmax.classMap(view, outH, outW);
            }
            for (int i = 0; i < fused.length; i++) {
                long a0 = allocatedBytes();
                long t0 = System.nanoTime();
                UpsampleArgmax.classMap(view, outH, outW);
                fused[i] = (System.nanoTime() - t0) / 1e6;
                fusedBytes = allocatedBytes() - a0;
            }
            ReferenceUpsampleArgmax.classMap(logits.array(), classes, h, w, outH, outW);
            for (int i = 0; i < plain.length; i++) {
                long a0 = allocatedBytes();
                long t0 = System.nanoTime();
                ReferenceUpsampleArgmax.classMap(logits.array(), classes, h, w, outH, outW);
                plain[i] = (System.nanoTime() - t0) / 1e6;
                plainBytes = allocatedBytes() - a0;
            }
            double f = median(fused);
            double p = median(plain);
            double torch = torchMillis(outH, outW, Math.max(3, runs / 2), classes, h, w);
            System.out.printf("| %dx%d | %.1f | %.1f | %s | %.1fx | %s | %.1f | %.1f |%n", outW, outH, f, p,
                    Double.isNaN(torch) ? "n/a" : String.format("%.1f", torch), p / f,
                    Double.isNaN(torch) ? "n/a" : String.format("%.1fx", torch / f), fusedBytes / 1e6, plainBytes / 1e6);
        }
    }

    /** PyTorch's F.interpolate + argmax on this machine (Debian's python3-torch), or NaN if it is not installed. */
    private static double torchMillis(int outH, int outW, int runs, int classes, int h, int w) {
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "src/test/python/torch_upsample_argmax.py", "bench",
                    String.valueOf(outH), String.valueOf(outW), String.valueOf(runs), String.valueOf(classes),
                    String.valueOf(h), String.valueOf(w)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? Double.parseDouble(out.lines().reduce((a, b) -> b).orElse("NaN")) : Double.NaN;
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    /** Bytes allocated on the heap by all live threads so far (the fused kernel runs on the common pool). */
    private static long allocatedBytes() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] ids = threads.getAllThreadIds();
        return Arrays.stream(threads.getThreadAllocatedBytes(ids)).filter(b -> b > 0).sum();
    }

    /** The sample figure stretched to the given size: segmentation-like content (large uniform regions). */
    static byte[] figureJpeg(int width, int height) {
        try (Mat figure = SampleImages.figure(); Mat big = new Mat()) {
            org.bytedeco.opencv.global.opencv_imgproc.resize(figure, big, new org.bytedeco.opencv.opencv_core.Size(width, height));
            return TestImages.jpeg(big);
        }
    }

    /** A noisy gradient with the sample figure pasted in: JPEG entropy close to a photo's. */
    static byte[] photoLikeJpeg(int width, int height, long seed) {
        Random random = new Random(seed);
        try (Mat mat = TestImages.gradient(width, height)) {
            ByteBuffer px = mat.data().capacity((long) width * height * 3).asByteBuffer();
            for (int i = 0; i < width * height * 3; i++) {
                int v = (px.get(i) & 0xFF) + (int) (random.nextGaussian() * 6);
                px.put(i, (byte) Math.max(0, Math.min(255, v)));
            }
            try (Mat figure = SampleImages.figure()) {
                int fw = Math.min(figure.cols(), width);
                int fh = Math.min(figure.rows(), height);
                ByteBuffer src = figure.data().capacity((long) figure.cols() * figure.rows() * 3).asByteBuffer();
                for (int y = 0; y < fh; y++) {
                    for (int x = 0; x < fw; x++) {
                        for (int c = 0; c < 3; c++) {
                            px.put(((y + height / 4) % height * width + x + width / 3) * 3 + c, src.get((y * figure.cols() + x) * 3 + c));
                        }
                    }
                }
            }
            return TestImages.jpeg(mat);
        }
    }

    private static double median(List<StageTimings> timings, ToDoubleFunction<StageTimings> stage) {
        return median(timings.stream().mapToDouble(stage).toArray());
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
