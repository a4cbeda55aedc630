package dev.sapienseg.pipeline;

import java.util.Arrays;

import dev.sapienseg.util.PictureLoops;

/**
 * The soft alpha of a selection of classes at the picture's size: {@code round(255 × Σ_{c ∈ selection}
 * softmax(upsampled logits)_c)}, with the class map's bilinear upsampling ({@code align_corners=False}, PyTorch's
 * sample positions, weights and order of sums) and PyTorch's rounding (half to even). One-channel models are the two
 * classes {@code (0, logit)}, whose softmax is the sigmoid: the probability of the foreground.
 *
 * <p>The shortcut, and why it is exact: inside a cell every class's upsampled logit lies between the smallest and the
 * largest of its four corners (a convex combination; a relative margin of 1e-5 covers float rounding). The selected
 * share is smallest where the selected classes are at their lows and the others at their highs, largest the other
 * way round; if even the smallest rounds to 255 (≥ 254.5 + 0.001) the whole cell is 255, if even the largest rounds
 * to 0 it is 0, without a single exponential per pixel (and mostly without one per cell: a sum of n terms lies between
 * its largest term and n times it, so comparing the two sides' best corners often settles it). Elsewhere each pixel
 * is computed, skipping classes whose largest corner is 16 below the best class's smallest: together they add less
 * than 28·e⁻¹⁶ (3·10⁻⁶) of the sum, which can move 255 × the share by less than 0.001, so the result stays within
 * one of the exact one, as PyTorch's own float sums do.
 */
public final class SoftAlpha {

    private static final int ROWS_PER_TASK = 16;
    private static final float RELATIVE_MARGIN = 1e-5f;
    private static final float ABSOLUTE_MARGIN = 1e-30f;
    private static final double ROUNDING_MARGIN = 1e-3;
    private static final float NEGLIGIBLE = 16f;
    /** e^-700 is a normal double: every term of the bounds' sums keeps its relative precision. */
    private static final float MAX_EXPONENT_SPREAD = 700f;

    private SoftAlpha() {
    }

    /**
     * @param selected {@code selected[c]}: class c is in the selection (for one-channel models: c = 0 background,
     *        1 foreground)
     * @return one byte per pixel, row-major, {@code outHeight × outWidth}
     */
    public static byte[] alpha(Logits logits, int outHeight, int outWidth, boolean[] selected) {
        int h = logits.height();
        int w = logits.width();
        SourceColumns columns = SourceColumns.of(w, outWidth);
        int[] x0 = columns.x0();
        float[] wx1 = columns.wx1();
        int[] firstColumn = columns.firstColumn();
        float scaleY = (float) h / outHeight;
        byte[] out = new byte[Math.multiplyExact(outHeight, outWidth)];
        PictureLoops.forEachRange(outHeight, ROWS_PER_TASK, (long) outHeight * outWidth, (fromRow, toRow) -> {
            Rows rows = new Rows(logits, selected);
            int cachedY0 = -1;
            for (int oy = fromRow; oy < toRow; oy++) {
                double real = UpsampleArgmax.sourceIndex(scaleY, oy);
                int y0 = (int) real;
                int y1 = y0 < h - 1 ? y0 + 1 : y0;
                float wy1 = UpsampleArgmax.upperWeight(real, y0);
                if (y0 != cachedY0) {
                    rows.select(y0, y1);
                    cachedY0 = y0;
                }
                int rowBase = oy * outWidth;
                int ox = 0;
                while (ox < outWidth) {
                    int sx = x0[ox];
                    int state = rows.state[sx];
                    if (state >= 0) { // a run of cells that are all 0 or all 255
                        int x = sx + 1;
                        while (x < w && rows.state[x] == state) {
                            x++;
                        }
                        int end = firstColumn[x];
                        Arrays.fill(out, rowBase + ox, rowBase + end, (byte) state);
                        ox = end;
                    } else {
                        for (int end = firstColumn[sx + 1]; ox < end; ox++) {
                            out[rowBase + ox] = rows.pixel(sx, 1f - wy1, wy1, 1f - wx1[ox], wx1[ox]);
                        }
                    }
                }
            }
        });
        return out;
    }

    /** Two source rows, class-major, and per cell: 0, 255, or -1 with the classes that matter. Not thread-safe. */
    private static final class Rows {
        private final Logits logits;
        private final boolean[] selected;
        private final int classes;
        private final int width;
        private final int plane;
        private final float[] top;
        private final float[] bottom;
        private final int[] state;
        private final byte[] candidates;
        private final int[] candidateCount;
        private final float[] lo;
        private final float[] hi;
        private final float[] values;
        /** Gaps between the best corners of the two sides that prove the rounded alpha is 255, or 0, in a cell. */
        private final double allSelectedGap;
        private final double noneSelectedGap;

        Rows(Logits logits, boolean[] selected) {
            this.logits = logits;
            this.classes = logits.channels() == 1 ? 2 : logits.channels();
            this.selected = Arrays.copyOf(selected, classes);
            this.width = logits.width();
            this.plane = logits.height() * width;
            this.top = new float[classes * width];
            this.bottom = new float[classes * width];
            this.state = new int[width];
            this.candidates = new byte[classes * width];
            this.candidateCount = new int[width];
            this.lo = new float[classes];
            this.hi = new float[classes];
            this.values = new float[classes];
            int chosen = 0;
            for (int c = 0; c < classes; c++) {
                chosen += this.selected[c] ? 1 : 0;
            }
            // alpha ≥ 254.5 + margin when others / selected ≤ r; others ≤ n·e^(max other high), selected ≥ e^(max low)
            double full = (254.5 + ROUNDING_MARGIN) / 255;
            double empty = (0.5 - ROUNDING_MARGIN) / 255;
            this.allSelectedGap = Math.log((1 - full) / full / Math.max(1, classes - chosen));
            this.noneSelectedGap = Math.log(empty / (1 - empty) / Math.max(1, chosen));
        }

        void select(int y0, int y1) {
            read(y0, top);
            read(y1, bottom);
            for (int x = 0; x < width; x++) {
                classify(x);
            }
        }

        /** Class-major; a one-channel model's class 0 is the constant logit 0. */
        private void read(int y, float[] row) {
            if (logits.channels() == 1) {
                Arrays.fill(row, 0, width, 0f);
                logits.buffer().get(logits.offset() + y * width, row, width, width);
                return;
            }
            for (int c = 0; c < classes; c++) {
                logits.buffer().get(logits.offset() + c * plane + y * width, row, c * width, width);
            }
        }

        private void classify(int x) {
            int x1 = x < width - 1 ? x + 1 : x;
            float top0 = Float.NEGATIVE_INFINITY;
            float bestLow = Float.NEGATIVE_INFINITY;
            boolean finite = true;
            for (int c = 0, i = 0; c < classes; c++, i += width) {
                float a = top[i + x];
                float b = top[i + x1];
                float d = bottom[i + x];
                float e = bottom[i + x1];
                float min = Math.min(Math.min(a, b), Math.min(d, e));
                float max = Math.max(Math.max(a, b), Math.max(d, e));
                finite &= Float.isFinite(min) && Float.isFinite(max);
                lo[c] = min - (RELATIVE_MARGIN * Math.abs(min) + ABSOLUTE_MARGIN);
                hi[c] = max + (RELATIVE_MARGIN * Math.abs(max) + ABSOLUTE_MARGIN);
                top0 = Math.max(top0, hi[c]);
                bestLow = Math.max(bestLow, lo[c]);
            }
            int first = x * classes;
            int count = 0;
            for (int c = 0; c < classes; c++) {
                if (!finite || hi[c] >= bestLow - NEGLIGIBLE) {
                    candidates[first + count++] = (byte) c;
                }
            }
            candidateCount[x] = count;
            state[x] = -1;
            if (!finite) {
                return;
            }
            // First without exponentials: one term bounds each sum from below, the count times the largest from above.
            float selectedLowMax = Float.NEGATIVE_INFINITY;
            float selectedHighMax = Float.NEGATIVE_INFINITY;
            float otherLowMax = Float.NEGATIVE_INFINITY;
            float otherHighMax = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                if (selected[c]) {
                    selectedLowMax = Math.max(selectedLowMax, lo[c]);
                    selectedHighMax = Math.max(selectedHighMax, hi[c]);
                } else {
                    otherLowMax = Math.max(otherLowMax, lo[c]);
                    otherHighMax = Math.max(otherHighMax, hi[c]);
                }
            }
            if (otherHighMax - selectedLowMax <= allSelectedGap) {
                state[x] = 255;
                return;
            }
            if (selectedHighMax - otherLowMax <= noneSelectedGap) {
                state[x] = 0;
                return;
            }
            float lowest = Float.POSITIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                lowest = Math.min(lowest, lo[c]);
            }
            if (top0 - lowest > MAX_EXPONENT_SPREAD) {
                return; // a term could underflow to 0 and make a ratio exactly 0 or 1: compute the pixels
            }
            double selectedLow = 0;
            double selectedHigh = 0;
            double otherLow = 0;
            double otherHigh = 0;
            for (int c = 0; c < classes; c++) {
                double low = Math.exp(lo[c] - top0);
                double high = Math.exp(hi[c] - top0);
                if (selected[c]) {
                    selectedLow += low;
                    selectedHigh += high;
                } else {
                    otherLow += low;
                    otherHigh += high;
                }
            }
            if (255 * selectedLow / (selectedLow + otherHigh) >= 254.5 + ROUNDING_MARGIN) {
                state[x] = 255;
            } else if (255 * selectedHigh / (selectedHigh + otherLow) <= 0.5 - ROUNDING_MARGIN) {
                state[x] = 0;
            }
        }

        /** One pixel of the cell at column {@code x0}, interpolating in PyTorch's order. */
        byte pixel(int x0, float wy0, float wy1, float wx0, float wx1) {
            int x1 = x0 < width - 1 ? x0 + 1 : x0;
            int first = x0 * classes;
            int count = candidateCount[x0];
            float max = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < count; k++) {
                int i = (candidates[first + k] & 0xFF) * width;
                float v = wy0 * (wx0 * top[i + x0] + wx1 * top[i + x1])
                        + wy1 * (wx0 * bottom[i + x0] + wx1 * bottom[i + x1]);
                values[k] = v;
                max = Math.max(max, v);
            }
            double all = 0;
            double chosen = 0;
            for (int k = 0; k < count; k++) {
                double e = Math.exp(values[k] - max);
                all += e;
                if (selected[candidates[first + k] & 0xFF]) {
                    chosen += e;
                }
            }
            double alpha = Math.rint(255 * chosen / all);
            return (byte) (alpha >= 0 && alpha <= 255 ? (int) alpha : 0); // NaN (non-finite logits): 0
        }
    }
}
