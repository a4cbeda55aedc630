package dev.sapienseg.bench;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.platform.Fp16Conversions;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.WarmUp;

/**
 * What the GPU pod's first-day changes cost and save, measured where they can be: on the CPU. Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.GpuDayBenchmark -Dexec.args="5"
 * </pre>
 *
 * <ol>
 * <li>Warm-up per batch shape: a fresh session's first run at each batch size 1, 2, 4, 8 against its second run at
 * that size (what the first request at a new shape pays without warm-up), and what warming all four adds to the
 * start. On the CPU there is no algorithm search, so this bounds the shape cost here; on CUDA with
 * {@code EXHAUSTIVE} each new shape adds cuDNN's search on top (never measured: no GPU).</li>
 * <li>float16 conversion off the inference thread: one batch of 8 of an fp16-I/O model run by the inference thread
 * converting (as before: floats in, floats out) against taking halves as they are, and the per-picture cost that
 * moved to the callers' threads (widening one picture's logits).</li>
 * </ol>
 * The argument is the rounds (medians over them). Models: the tiny ViT fixture (shape costs) and the palette model
 * with float16 input and logits (Sapiens-0.3B's tensor sizes: 3×1024×768 in, 28×512×384 out per picture).
 */
public final class GpuDayBenchmark {

    private static final List<Integer> SIZES = List.of(1, 2, 4, 8);

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf("%d cores, %d rounds, %s%n", Runtime.getRuntime().availableProcessors(), rounds,
                System.getProperty("java.vm.version"));
        shapes(rounds);
        halves(rounds);
    }

    private static void shapes(int rounds) throws Exception {
        double[][] first = new double[SIZES.size()][rounds];
        double[][] second = new double[SIZES.size()][rounds];
        double[] warmAll = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            ModelSettings cold = ModelSettings.cpu(FixtureModels.TINY_VIT).withWarmUp(WarmUp.NEVER);
            try (SegmentationModel model = SegmentationModel.load(cold)) {
                for (int i = 0; i < SIZES.size(); i++) {
                    int batch = SIZES.get(i);
                    first[i][r] = timeRun(model, batch);
                    second[i][r] = timeRun(model, batch);
                }
            }
            // A GPU pod's warm-up of every shape, on this CPU: the session is made with all four listed.
            ModelSettings warm = new ModelSettings(FixtureModels.TINY_VIT, 1024, 768, ExecutionProvider.CPU, 0,
                    Map.of(), true, 0, 0).withWarmUpBatches(SIZES);
            try (SegmentationModel model = SegmentationModel.load(warm)) {
                warmAll[r] = model.warmUpMillis();
            }
        }
        System.out.println("\nTiny ViT, CPU: first run at a new batch shape against the next run at it (ms, medians)");
        System.out.println("| batch | first run | next run | first − next |");
        System.out.println("|---|---|---|---|");
        for (int i = 0; i < SIZES.size(); i++) {
            double f = median(first[i]);
            double s = median(second[i]);
            System.out.printf("| %d | %.1f | %.1f | %+.1f |%n", SIZES.get(i), f, s, f - s);
        }
        System.out.printf("warm-up of batch 1 only on the CPU (what a CPU pod does): %s ms total%n",
                Arrays.toString(warmAll));
    }

    private static double timeRun(SegmentationModel model, int batch) throws Exception {
        FloatBuffer in = SegmentationModel.directFloats((long) batch * model.contract().inputFloatsPerImage());
        FloatBuffer out = SegmentationModel.directFloats((long) batch * model.contract().outputFloatsPerImage());
        long start = System.nanoTime();
        model.run(in, out, batch);
        return (System.nanoTime() - start) / 1e6;
    }

    private static void halves(int rounds) throws Exception {
        Path dir = Files.createTempDirectory("gpu-day-bench");
        Path half = ModelFiles.write(dir, "fp16-io.onnx", FixtureModels.paletteHalfIo());
        int batch = 8;
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(half))) {
            int in = model.contract().inputFloatsPerImage();
            int out = model.contract().outputFloatsPerImage();
            FloatBuffer floatsIn = SegmentationModel.directFloats((long) batch * in);
            FloatBuffer floatsOut = SegmentationModel.directFloats((long) batch * out);
            ShortBuffer halvesIn = SegmentationModel.directShorts((long) batch * in);
            ShortBuffer halvesOut = SegmentationModel.directShorts((long) batch * out);
            int samples = Math.max(rounds, 3) * 3;
            double[] converting = new double[samples];
            double[] asIs = new double[samples];
            double[] widen = new double[samples];
            for (int i = 0; i < samples; i++) {
                long a = System.nanoTime();
                model.run(floatsIn, floatsOut, batch);
                long b = System.nanoTime();
                model.runAsIs(halvesIn, halvesOut, batch);
                long c = System.nanoTime();
                for (int k = 0; k < out; k++) {
                    floatsOut.put(k, Fp16Conversions.fp16ToFloat(halvesOut.get(k)));
                }
                long d = System.nanoTime();
                converting[i] = (b - a) / 1e6;
                asIs[i] = (c - b) / 1e6;
                widen[i] = (d - c) / 1e6;
            }
            System.out.printf("%nfp16-I/O palette model, batch of %d, inference thread per batch (ms, median of %d):%n",
                    batch, samples);
            System.out.printf("| converting on the inference thread (before) | halves as they are (after) | moved off |%n");
            System.out.printf("|---|---|---|%n| %.1f | %.1f | %.1f |%n", median(converting), median(asIs),
                    median(converting) - median(asIs));
            System.out.printf("widening one picture's logits on its caller's thread: %.1f ms (median)%n", median(widen));
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
