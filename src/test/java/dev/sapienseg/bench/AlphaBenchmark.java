package dev.sapienseg.bench;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import dev.sapienseg.pipeline.Logits;
import dev.sapienseg.pipeline.SoftAlpha;
import dev.sapienseg.pipeline.UpsampleArgmax;

/**
 * The soft alpha's cost beside the class map's (the fused upsample+argmax) on the same 28 × 512 × 384 logits, at
 * 1080p and 12 MP: confident logits (each region has a clear winner, as a trained model's interior), where the
 * shortcut leaves only the borders to compute, and unsure ones (every class within a few units everywhere), where every
 * pixel is computed. Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.AlphaBenchmark
 * </pre>
 */
public final class AlphaBenchmark {

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        System.out.printf("cores=%d, java=%s, runs=%d (medians, ms)%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), runs);
        boolean[] hair = new boolean[28];
        hair[3] = true;
        System.out.println("| logits | picture | class map | alpha | alpha / class map |");
        System.out.println("|---|---|---|---|---|");
        for (boolean confident : new boolean[] {true, false}) {
            Logits logits = logits(confident);
            for (int[] size : new int[][] {{1920, 1080}, {4000, 3000}}) {
                double classes = median(runs, () -> UpsampleArgmax.classMap(logits, size[1], size[0]));
                double alpha = median(runs, () -> SoftAlpha.alpha(logits, size[1], size[0], hair));
                System.out.printf("| %s | %dx%d | %.1f | %.1f | %.2f |%n", confident ? "confident" : "unsure",
                        size[0], size[1], classes, alpha, alpha / classes);
            }
        }
    }

    /** Bands of 28 regions, each with its class 12 above the others (confident), or 1 above (unsure). */
    private static Logits logits(boolean confident) {
        int c = 28;
        int h = 512;
        int w = 384;
        float[] values = new float[c * h * w];
        Random random = new Random(5);
        for (int i = 0; i < values.length; i++) {
            int x = i % w;
            int y = (i / w) % h;
            int k = i / (w * h);
            int region = (int) (((x + 0.6 * y) / (w + 0.6 * h)) * c);
            values[i] = (float) (2 * Math.sin(0.05 * x + k) * Math.cos(0.04 * y - k) + random.nextGaussian() * 0.1
                    + (k == region ? (confident ? 12 : 1) : 0));
        }
        return new Logits(FloatBuffer.wrap(values), 0, c, h, w);
    }

    private static double median(int runs, Supplier<byte[]> work) {
        work.get();
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            work.get();
            ms.add((System.nanoTime() - t0) / 1e6);
        }
        Collections.sort(ms);
        return ms.get(ms.size() / 2);
    }
}
