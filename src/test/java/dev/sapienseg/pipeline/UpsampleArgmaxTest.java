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
}
