package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Parity of the fused kernel with a plain reference written here independently: materialise every upsampled
 * class plane the way PyTorch's {@code F.interpolate(bilinear, align_corners=False)} defines it, then argmax.
 */
class UpsampleArgmaxTest {

    static byte[] reference(float[] logits, int channels, int h, int w, int outH, int outW) {
        return ReferenceUpsampleArgmax.classMap(logits, channels, h, w, outH, outW);
    }

    private static float[] randomLogits(Random random, int channels, int h, int w, boolean smooth) {
        float[] logits = new float[channels * h * w];
        for (int c = 0; c < channels; c++) {
            // Smooth fields give large uniform regions (like real segmentations); noise exercises every boundary path.
            double fx = random.nextDouble() * 0.3;
            double fy = random.nextDouble() * 0.3;
            double phase = random.nextDouble() * 6;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    logits[(c * h + y) * w + x] = smooth
                            ? (float) (3 * Math.sin(fx * x + phase) * Math.cos(fy * y - phase) + random.nextGaussian() * 0.01)
                            : (float) random.nextGaussian();
                }
            }
        }
        return logits;
    }

    private static byte[] fused(float[] logits, int channels, int h, int w, int outH, int outW) {
        return UpsampleArgmax.classMap(new Logits(FloatBuffer.wrap(logits), 0, channels, h, w), outH, outW);
    }

    /** Agreement except where the top two reference scores are within float rounding of each other. */
    private static void assertParity(float[] logits, int channels, int h, int w, int outH, int outW) {
        byte[] expected = reference(logits, channels, h, w, outH, outW);
        byte[] actual = fused(logits, channels, h, w, outH, outW);
        int mismatches = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                mismatches++;
            }
        }
        // Random float logits almost never tie within rounding; allow at most one in a million pixels.
        assertTrue(mismatches <= expected.length / 1_000_000,
                mismatches + " of " + expected.length + " pixels differ for " + channels + "x" + h + "x" + w + " -> " + outH + "x" + outW);
    }

    @ParameterizedTest(name = "{0}x{1}x{2} -> {3}x{4}")
    @CsvSource({
            "28, 1, 1, 1, 1",
            "28, 1, 1, 5, 7",
            "28, 1, 9, 1, 20",
            "28, 9, 1, 13, 1",
            "28, 4, 6, 1, 1",
            "28, 1, 5, 1, 3",
            "28, 8, 6, 31, 17",
            "28, 16, 12, 7, 5",
            "28, 32, 24, 64, 48",
            "28, 32, 24, 129, 97",
            "3, 11, 7, 100, 3",
            "1, 8, 6, 31, 17",
            "1, 16, 12, 5, 9",
            "2, 20, 20, 20, 20"
    })
    void matchesReferenceOnNoise(int channels, int h, int w, int outH, int outW) {
        assertParity(randomLogits(new Random(channels * 31L + h * 7L + w + outH * 13L + outW), channels, h, w, false),
                channels, h, w, outH, outW);
    }

    @ParameterizedTest(name = "smooth {0}x{1} -> {2}x{3}")
    @CsvSource({
            "64, 48, 135, 240",
            "64, 48, 1080, 1920",
            "64, 48, 33, 25",
            "51, 38, 403, 301"
    })
    void matchesReferenceOnSmoothFields(int h, int w, int outH, int outW) {
        assertParity(randomLogits(new Random(h * 1000L + outW), 28, h, w, true), 28, h, w, outH, outW);
    }

    @Test
    void tiesGoToTheFirstClass() {
        // All classes equal: class 0 everywhere. Classes 3 and 5 tied above the rest: class 3.
        float[] logits = new float[28 * 4 * 4];
        byte[] allTied = fused(logits, 28, 4, 4, 9, 7);
        assertArrayEquals(new byte[9 * 7], allTied);
        for (int i = 0; i < 16; i++) {
            logits[3 * 16 + i] = 2f;
            logits[5 * 16 + i] = 2f;
        }
        byte[] twoTied = fused(logits, 28, 4, 4, 9, 7);
        for (byte b : twoTied) {
            assertEquals(3, b);
        }
    }

    @Test
    void readsOneSlotOfABatchedBuffer() {
        Random random = new Random(7);
        int channels = 28;
        int h = 8;
        int w = 6;
        float[] first = randomLogits(random, channels, h, w, false);
        float[] second = randomLogits(random, channels, h, w, false);
        float[] batch = new float[first.length * 2];
        System.arraycopy(first, 0, batch, 0, first.length);
        System.arraycopy(second, 0, batch, first.length, second.length);
        byte[] fromSlot = UpsampleArgmax.classMap(new Logits(FloatBuffer.wrap(batch), first.length, channels, h, w), 23, 19);
        assertArrayEquals(reference(second, channels, h, w, 23, 19), fromSlot);
    }

    @Test
    void argmaxThenResizeIsNotTheSame() {
        // Guard against the tempting shortcut (nearest/argmax first): on noise it must disagree somewhere.
        Random random = new Random(3);
        float[] logits = randomLogits(random, 28, 8, 8, false);
        byte[] fused = fused(logits, 28, 8, 8, 64, 64);
        byte[] nearestOfArgmax = new byte[64 * 64];
        byte[] source = reference(logits, 28, 8, 8, 8, 8);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                nearestOfArgmax[y * 64 + x] = source[(y / 8) * 8 + x / 8];
            }
        }
        assertTrue(!java.util.Arrays.equals(fused, nearestOfArgmax));
    }

    /**
     * The classes left out at a boundary must never change the answer: classes crowded within a few roundings of
     * each other (so that many sit just at the pruning margin), at magnitudes from 1e-35 to 1e30, must give exactly
     * the reference's map, which interpolates every class with the same arithmetic.
     */
    @ParameterizedTest(name = "scale {0}")
    @CsvSource({"1", "1e-35", "1e-3", "1e4", "1e30"})
    void leavingClassesOutNeverChangesTheAnswer(float scale) {
        Random random = new Random(Float.floatToIntBits(scale));
        int channels = 28;
        int h = 24;
        int w = 20;
        float[] logits = new float[channels * h * w];
        for (int c = 0; c < channels; c++) {
            for (int p = 0; p < h * w; p++) {
                // A shared field, and per class a step of a few ulps or of the margin (1e-5) itself.
                double shared = Math.sin(p * 0.37) * 2;
                double step = random.nextInt(4) * (random.nextBoolean() ? 1e-7 : 1e-5)
                        * (random.nextBoolean() ? 1 : -1);
                logits[c * h * w + p] = (float) ((shared + step) * scale);
            }
        }
        for (int[] size : new int[][] {{97, 83}, {24, 20}, {13, 11}}) {
            assertArrayEquals(reference(logits, channels, h, w, size[0], size[1]),
                    fused(logits, channels, h, w, size[0], size[1]), "scale " + scale + ", " + size[0] + "x" + size[1]);
        }
    }

    /**
     * A class tied with the winner at three corners and one rounding below it at the fourth sits exactly at the
     * pruning floor: it must stay a candidate, and win the pixels where the two tie (first index), at any magnitude
     * (down to subnormal values).
     */
    @ParameterizedTest(name = "value {0}")
    @CsvSource({"1", "3e-40", "-2.5", "7e30"})
    void aClassAtTheFloorStaysACandidate(float value) {
        int channels = 28;
        int h = 4;
        int w = 4;
        float[] logits = new float[channels * h * w];
        java.util.Arrays.fill(logits, -Math.abs(value) * 4 - 1);
        for (int p = 0; p < h * w; p++) {
            logits[2 * h * w + p] = value;
            logits[7 * h * w + p] = value;
        }
        logits[7 * h * w + w + 1] = Math.nextUp(value); // class 7 wins one source pixel by one rounding
        byte[] expected = reference(logits, channels, h, w, 15, 13);
        assertArrayEquals(expected, fused(logits, channels, h, w, 15, 13));
        int sevens = 0;
        for (byte b : expected) {
            sevens += b == 7 ? 1 : 0;
        }
        assertTrue(sevens > 0 && sevens < expected.length, "both classes win somewhere: " + sevens);
    }

    /** NaN and infinite logits (a broken model) at boundaries: every class is interpolated, as by the reference. */
    @Test
    void nonFiniteLogitsGetTheAnswerOfEveryClass() {
        Random random = new Random(11);
        int channels = 28;
        int h = 12;
        int w = 10;
        float[] logits = randomLogits(random, channels, h, w, false);
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
            -Float.MAX_VALUE};
        for (int i = 0; i < 60; i++) {
            logits[random.nextInt(logits.length)] = specials[random.nextInt(specials.length)];
        }
        for (int c = 0; c < 3; c++) { // and whole corners of the first classes, which win ties
            logits[c * h * w + 5 * w + 4] = Float.NaN;
            logits[c * h * w + 7 * w + 2] = Float.NEGATIVE_INFINITY;
        }
        assertArrayEquals(reference(logits, channels, h, w, 41, 37), fused(logits, channels, h, w, 41, 37));
    }

    /** Alone, a large picture is split over the pool; while another picture's loop runs it is one task: same map. */
    @Test
    void sameMapSplitOrInOneTask() throws Exception {
        float[] logits = randomLogits(new Random(5), 28, 32, 24, true);
        byte[] expected = reference(logits, 28, 32, 24, 400, 300);
        assertArrayEquals(expected, fused(logits, 28, 32, 24, 400, 300), "split");
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread other = new Thread(() -> dev.sapienseg.util.PictureLoops.forEach(1, 1, i -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        other.start();
        try {
            inside.await();
            assertArrayEquals(expected, fused(logits, 28, 32, 24, 400, 300), "one task");
        } finally {
            release.countDown();
            other.join();
        }
    }
}
