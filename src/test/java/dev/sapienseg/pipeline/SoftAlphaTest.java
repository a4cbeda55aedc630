package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The soft alpha against a brute-force reference in double arithmetic (every pixel interpolated at PyTorch's sample
 * position, every class's exponential), where PyTorch is not needed: logits spread far beyond what float
 * exponentials hold, where a shortcut that trusted underflowing sums would fill a cell wrongly.
 */
class SoftAlphaTest {

    @Test
    void extremeLogitsStayWithinOneOfTheExactValue() {
        // One channel, corners 746 and 2: the bound's sums underflow on one side. Sampled finely, the cell's last
        // pixels come close to the corner of 2, whose alpha is 225 (sigmoid(2)), not 255.
        float[] one = {746f, 2f};
        boolean[] foreground = {false, true};
        byte[] alpha = SoftAlpha.alpha(new Logits(FloatBuffer.wrap(one), 0, 1, 1, 2), 1, 4000, foreground);
        assertEquals(225, alpha[3999] & 0xFF);
        assertWithinOne(one, 1, 1, 2, 1, 4000, foreground, alpha);

        Random random = new Random(11);
        for (int trial = 0; trial < 30; trial++) {
            int c = trial % 3 == 0 ? 1 : 2 + random.nextInt(27);
            int h = 1 + random.nextInt(6);
            int w = 1 + random.nextInt(6);
            float[] logits = new float[c * h * w];
            double scale = new double[] {1, 30, 400, 2000}[trial % 4];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) (random.nextGaussian() * scale);
            }
            boolean[] selected = new boolean[Math.max(2, c)];
            for (int k = 0; k < selected.length; k++) {
                selected[k] = random.nextBoolean();
            }
            int outH = 1 + random.nextInt(40);
            int outW = 1 + random.nextInt(40);
            byte[] ours = SoftAlpha.alpha(new Logits(FloatBuffer.wrap(logits), 0, c, h, w), outH, outW, selected);
            assertWithinOne(logits, c, h, w, outH, outW, selected, ours);
        }
    }

    private static void assertWithinOne(float[] logits, int c, int h, int w, int outH, int outW, boolean[] selected,
            byte[] ours) {
        int classes = c == 1 ? 2 : c;
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                double[] v = new double[classes];
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < classes; k++) {
                    v[k] = c == 1 && k == 0 ? 0
                            : TorchParityTest.exactScore(logits, c, h, w, outH, outW, k, oy, ox);
                    max = Math.max(max, v[k]);
                }
                double all = 0;
                double chosen = 0;
                for (int k = 0; k < classes; k++) {
                    double e = Math.exp(v[k] - max);
                    all += e;
                    chosen += selected[k] ? e : 0;
                }
                double exact = 255 * chosen / all;
                int got = ours[oy * outW + ox] & 0xFF;
                assertTrue(Math.abs(got - exact) <= 0.5 + 1e-3 || Math.abs(got - Math.rint(exact)) <= 1,
                        "pixel " + ox + "," + oy + ": " + got + " vs " + exact);
            }
        }
    }
}
