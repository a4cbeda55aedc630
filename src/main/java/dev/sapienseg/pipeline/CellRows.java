package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The two source rows of logits around one output row, for the output pixels of {@link UpsampleArgmax} whose cell
 * has disagreeing corners. One per task of the kernel (not thread-safe).
 *
 * <p>Why the rows are copied: the logits are class-major ({@code C × H × W}), so the four corners of one cell are
 * {@code 4 × C} reads a whole class plane apart, a cache miss each. Copying the two rows, class by class, reads the
 * logits sequentially once per source row instead of once per output row and cell.
 *
 * <p>Why only some classes are interpolated (exact, not a heuristic): inside a cell every class's upsampled value
 * lies within float rounding of the range of its four corners. Let {@code floor} be the largest over classes of the
 * smallest corner. A class whose largest corner is below {@code floor} by more than the rounding can never reach the
 * value of the class that set the floor, so it can neither win nor tie; the candidates that remain are interpolated
 * in class order with the same arithmetic as every other pixel, so the first index still wins ties. Typically two or
 * three of 28 classes remain at a boundary. Cells with a non-finite corner keep every class.
 */
final class CellRows {

    /**
     * How far below the floor a class must stay. Interpolation is monotone in the corners (every step rounds a sum or
     * a product by a non-negative weight), so a class whose corners all lie at or below {@code t} ends at or below
     * the interpolation of {@code t} itself, which is within a few roundings (6e-8 each, relative) of {@code t}; and
     * the floor's class ends at or above the interpolation of the floor. A relative margin of 1e-5 keeps the two
     * strictly apart; the absolute one covers values so small that products underflow.
     */
    private static final float RELATIVE_MARGIN = 1e-5f;
    private static final float ABSOLUTE_MARGIN = 1e-30f;

    private final FloatBuffer buffer;
    private final int offset;
    private final int channels;
    private final int width;
    private final int plane;
    /** Source rows {@code y0} and {@code y1}, class-major: {@code [c · width + x]}. */
    private float[] top;
    private float[] bottom;
    private int topY = -1;
    private int bottomY = -1;
    private byte[] topClasses;
    private byte[] bottomClasses;
    private final float[] best;
    /** Per source column: its cell's candidate classes ({@code candidates[x · C ...]}), -1 until first asked. */
    private final byte[] candidates;
    private final byte[] candidateCount;

    CellRows(Logits logits) {
        this.buffer = logits.buffer();
        this.offset = logits.offset();
        this.channels = logits.channels();
        this.width = logits.width();
        this.plane = logits.height() * width;
        this.top = new float[channels * width];
        this.bottom = new float[channels * width];
        this.topClasses = new byte[width];
        this.bottomClasses = new byte[width];
        this.best = new float[width];
        this.candidates = new byte[channels * width];
        this.candidateCount = new byte[width];
    }

    /** Makes {@code y0} and {@code y1} the current rows, reusing a row already read. */
    void select(int y0, int y1) {
        if (y0 == bottomY && y0 != topY) {
            float[] reused = top;
            top = bottom;
            bottom = reused;
            byte[] reusedClasses = topClasses;
            topClasses = bottomClasses;
            bottomClasses = reusedClasses;
            topY = bottomY;
            bottomY = -1;
        }
        if (topY != y0) {
            read(y0, top, topClasses);
            topY = y0;
        }
        if (bottomY != y1) {
            if (y1 == topY) {
                System.arraycopy(top, 0, bottom, 0, top.length);
                System.arraycopy(topClasses, 0, bottomClasses, 0, width);
            } else {
                read(y1, bottom, bottomClasses);
            }
            bottomY = y1;
        }
        Arrays.fill(candidateCount, (byte) -1);
    }

    /** The winning class at each pixel of the upper row (first index on ties, as torch.argmax). */
    byte[] topClasses() {
        return topClasses;
    }

    byte[] bottomClasses() {
        return bottomClasses;
    }

    /** Reads source row {@code y}, class by class, and its winning classes. */
    private void read(int y, float[] row, byte[] classes) {
        for (int c = 0; c < channels; c++) {
            buffer.get(offset + c * plane + y * width, row, c * width, width);
        }
        if (channels == 1) {
            for (int x = 0; x < width; x++) {
                classes[x] = UpsampleArgmax.foreground(row[x]) ? (byte) 1 : 0;
            }
            return;
        }
        System.arraycopy(row, 0, best, 0, width);
        Arrays.fill(classes, (byte) 0);
        for (int c = 1, i = width; c < channels; c++, i += width) {
            for (int x = 0; x < width; x++) {
                float v = row[i + x];
                if (v > best[x]) { // strict: the first index wins ties
                    best[x] = v;
                    classes[x] = (byte) c;
                }
            }
        }
    }

    /**
     * The class of one output pixel in the cell at column {@code x0}, interpolating in PyTorch's order (rows of
     * width-interpolations, then between the rows).
     */
    byte interpolatedClass(int x0, float wy0, float wy1, float wx0, float wx1) {
        int x1 = x0 < width - 1 ? x0 + 1 : x0;
        if (channels == 1) {
            float v = wy0 * (wx0 * top[x0] + wx1 * top[x1]) + wy1 * (wx0 * bottom[x0] + wx1 * bottom[x1]);
            return UpsampleArgmax.foreground(v) ? (byte) 1 : 0;
        }
        int count = candidateCount[x0];
        if (count < 0) {
            count = selectCandidates(x0, x1);
        }
        int first = x0 * channels;
        int bestClass = candidates[first];
        int i = bestClass * width;
        float best = wy0 * (wx0 * top[i + x0] + wx1 * top[i + x1])
                + wy1 * (wx0 * bottom[i + x0] + wx1 * bottom[i + x1]);
        for (int k = 1; k < count; k++) {
            int c = candidates[first + k];
            int j = c * width;
            float v = wy0 * (wx0 * top[j + x0] + wx1 * top[j + x1])
                    + wy1 * (wx0 * bottom[j + x0] + wx1 * bottom[j + x1]);
            if (v > best) { // strict: the first index wins ties, as torch.argmax
                best = v;
                bestClass = c;
            }
        }
        return (byte) bestClass;
    }

    /** Fills the candidates of the cell at column {@code x0} in class order; returns how many. */
    private int selectCandidates(int x0, int x1) {
        // A lower bound of the winner's value anywhere in the cell: the smallest corner of a corner's own winner.
        float floor = Math.max(Math.max(smallestCorner(topClasses[x0], x0, x1), smallestCorner(topClasses[x1], x0, x1)),
                Math.max(smallestCorner(bottomClasses[x0], x0, x1), smallestCorner(bottomClasses[x1], x0, x1)));
        float threshold = floor - (RELATIVE_MARGIN * Math.abs(floor) + ABSOLUTE_MARGIN);
        float sum = 0f; // NaN or infinite if any corner is (or the sum overflows): then every class stays
        int first = x0 * channels;
        int count = 0;
        for (int c = 0, i = 0; c < channels; c++, i += width) {
            float a = top[i + x0];
            float b = top[i + x1];
            float d = bottom[i + x0];
            float e = bottom[i + x1];
            sum += (a + b) + (d + e);
            if (a > threshold || b > threshold || d > threshold || e > threshold) {
                candidates[first + count++] = (byte) c;
            }
        }
        if (!Float.isFinite(sum) || !Float.isFinite(threshold)) {
            for (int c = 0; c < channels; c++) {
                candidates[first + c] = (byte) c;
            }
            count = channels;
        }
        candidateCount[x0] = (byte) count;
        return count;
    }

    private float smallestCorner(int c, int x0, int x1) {
        int i = c * width;
        return Math.min(Math.min(top[i + x0], top[i + x1]), Math.min(bottom[i + x0], bottom[i + x1]));
    }
}
