package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * Sapiens' post-processing, fused: bilinear upsampling of the logits to the original image size
 * ({@code F.interpolate(mode="bilinear", align_corners=False)}) followed by an argmax over the classes,
 * without ever materialising the {@code classes × H × W} upsampled logits (0.93 GB for a 4K frame).
 *
 * <p>Why the shortcut is exact: an upsampled value is a convex combination of the four source corners around it,
 * with the same weights for every class. If one class wins (first index on ties) at all four corners, the
 * difference between it and any other class is a convex combination of non-negative numbers, so it wins
 * everywhere inside that cell too. Only output pixels whose cell has disagreeing corners (class boundaries)
 * need the full per-class interpolation; the rest is a table lookup. One-channel models use
 * {@code sigmoid(logit) > 0.3}, which is monotone in the logit, so the same argument holds.
 *
 * <p>Coordinates, weights and the order of the sums follow PyTorch's CPU kernel ({@code UpSample.h},
 * {@code UpSampleKernel.cpp}), so results agree with it except where two class scores tie to within float rounding
 * ({@code TorchParityTest} checks this against PyTorch itself). Extra memory: one byte per source pixel plus
 * two small index tables; the output is one byte per pixel.
 */
public final class UpsampleArgmax {

    /** Sapiens' threshold for one-channel (foreground) models. */
    public static final float BINARY_THRESHOLD = 0.3f;

    private static final int ROWS_PER_TASK = 16;
    private static final long PARALLEL_MIN_PIXELS = 64 * 1024;

    private UpsampleArgmax() {
    }

    /**
     * Class map of {@code outHeight × outWidth}, one byte (class id) per pixel, row-major.
     * For one-channel logits the ids are 0 (background) and 1 (foreground).
     */
    public static byte[] classMap(Logits logits, int outHeight, int outWidth) {
        if (outHeight < 1 || outWidth < 1) {
            throw new IllegalArgumentException("output size must be positive: " + outWidth + "x" + outHeight);
        }
        if (logits.channels() > 127) {
            throw new IllegalArgumentException("at most 127 classes fit a byte class map: " + logits.channels());
        }
        int h = logits.height();
        int w = logits.width();
        byte[] sourceClass = sourceClasses(logits);

        // Horizontal source positions, shared by all output rows.
        int[] x0 = new int[outWidth];
        float[] wx1 = new float[outWidth];
        float scaleX = (float) w / outWidth;
        for (int ox = 0; ox < outWidth; ox++) {
            double real = sourceIndex(scaleX, ox);
            x0[ox] = (int) real;
            wx1[ox] = upperWeight(real, x0[ox]);
        }
        float scaleY = (float) h / outHeight;
        byte[] out = new byte[Math.multiplyExact(outHeight, outWidth)];

        int tasks = (outHeight + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        IntStream range = IntStream.range(0, tasks);
        if ((long) outHeight * outWidth >= PARALLEL_MIN_PIXELS) {
            range = range.parallel();
        }
        int channels = logits.channels();
        range.forEach(task -> {
            byte[] cell = new byte[w];
            float[] corners = new float[4 * channels];
            int cachedY0 = -1;
            int endRow = Math.min(outHeight, (task + 1) * ROWS_PER_TASK);
            for (int oy = task * ROWS_PER_TASK; oy < endRow; oy++) {
                double real = sourceIndex(scaleY, oy);
                int y0 = (int) real;
                int y1 = y0 < h - 1 ? y0 + 1 : y0;
                float wy1 = upperWeight(real, y0);
                float wy0 = 1f - wy1;
                if (y0 != cachedY0) {
                    uniformCells(sourceClass, w, y0, y1, cell);
                    cachedY0 = y0;
                }
                int rowBase = oy * outWidth;
                int gatheredX0 = -1;
                for (int ox = 0; ox < outWidth; ox++) {
                    int sx0 = x0[ox];
                    byte c = cell[sx0];
                    if (c >= 0) {
                        out[rowBase + ox] = c;
                    } else {
                        if (sx0 != gatheredX0) { // upscaling: neighbouring output pixels share their four corners
                            gatherCorners(logits, y0, y1, sx0, sx0 < w - 1 ? sx0 + 1 : sx0, corners);
                            gatheredX0 = sx0;
                        }
                        float lx1 = wx1[ox];
                        out[rowBase + ox] = (byte) interpolatedClass(corners, channels, wy0, wy1, 1f - lx1, lx1);
                    }
                }
            }
        });
        return out;
    }

    /**
     * PyTorch's source position for align_corners=False: the ratio is a float ({@code (float) in / out}), the position
     * {@code ratio · (dst + 0.5) − 0.5} and the fractional weight are computed in double and the weight is stored as
     * float. Measured against PyTorch 1.13: identical weights for every output row and column.
     */
    static double sourceIndex(float scale, int dst) {
        double real = scale * (dst + 0.5) - 0.5;
        return real < 0 ? 0 : real;
    }

    /** The weight of the upper neighbour, as PyTorch stores it. */
    static float upperWeight(double real, int lower) {
        return (float) Math.min(Math.max(real - lower, 0.0), 1.0);
    }

    /** The winning class at every source pixel. */
    private static byte[] sourceClasses(Logits logits) {
        int h = logits.height();
        int w = logits.width();
        int channels = logits.channels();
        int plane = h * w;
        FloatBuffer buf = logits.buffer();
        int base = logits.offset();
        byte[] classes = new byte[plane];
        IntStream rows = IntStream.range(0, h);
        if ((long) plane * channels >= PARALLEL_MIN_PIXELS) {
            rows = rows.parallel();
        }
        if (channels == 1) {
            rows.forEach(y -> {
                for (int i = y * w, end = i + w; i < end; i++) {
                    classes[i] = foreground(buf.get(base + i)) ? (byte) 1 : 0;
                }
            });
            return classes;
        }
        rows.forEach(y -> {
            // Bulk row reads (one bounds check per row, not per value) into arrays the JIT can vectorise.
            float[] best = new float[w];
            float[] row = new float[w];
            byte[] bestClass = new byte[w];
            int rowStart = y * w;
            buf.get(base + rowStart, best, 0, w);
            for (int c = 1; c < channels; c++) {
                buf.get(base + c * plane + rowStart, row, 0, w);
                for (int x = 0; x < w; x++) {
                    if (row[x] > best[x]) { // strict: the first index wins ties, as torch.argmax
                        best[x] = row[x];
                        bestClass[x] = (byte) c;
                    }
                }
            }
            System.arraycopy(bestClass, 0, classes, rowStart, w);
        });
        return classes;
    }

    /** For the cell between source rows y0 and y1 at each column x0: its class if all four corners agree, else -1. */
    private static void uniformCells(byte[] sourceClass, int w, int y0, int y1, byte[] cell) {
        int r0 = y0 * w;
        int r1 = y1 * w;
        for (int x = 0; x < w; x++) {
            int x1 = x < w - 1 ? x + 1 : x;
            byte a = sourceClass[r0 + x];
            cell[x] = (a == sourceClass[r0 + x1] && a == sourceClass[r1 + x] && a == sourceClass[r1 + x1]) ? a : -1;
        }
    }

    /** Copies the four corner logit vectors of a cell, class-minor: [00 | 01 | 10 | 11] × channels. */
    private static void gatherCorners(Logits logits, int y0, int y1, int x0, int x1, float[] corners) {
        FloatBuffer buf = logits.buffer();
        int w = logits.width();
        int plane = logits.height() * w;
        int channels = logits.channels();
        int i00 = logits.offset() + y0 * w + x0;
        int i01 = logits.offset() + y0 * w + x1;
        int i10 = logits.offset() + y1 * w + x0;
        int i11 = logits.offset() + y1 * w + x1;
        for (int c = 0, off = 0; c < channels; c++, off += plane) {
            corners[c] = buf.get(i00 + off);
            corners[channels + c] = buf.get(i01 + off);
            corners[2 * channels + c] = buf.get(i10 + off);
            corners[3 * channels + c] = buf.get(i11 + off);
        }
    }

    /** The class of one output pixel, interpolating every class in PyTorch's order: rows of width-interpolations. */
    private static int interpolatedClass(float[] corners, int channels, float wy0, float wy1, float wx0, float wx1) {
        if (channels == 1) {
            float v = wy0 * (wx0 * corners[0] + wx1 * corners[1]) + wy1 * (wx0 * corners[2] + wx1 * corners[3]);
            return foreground(v) ? 1 : 0;
        }
        int c01 = channels;
        int c10 = 2 * channels;
        int c11 = 3 * channels;
        int bestClass = 0;
        float best = wy0 * (wx0 * corners[0] + wx1 * corners[c01]) + wy1 * (wx0 * corners[c10] + wx1 * corners[c11]);
        for (int c = 1; c < channels; c++) {
            float v = wy0 * (wx0 * corners[c] + wx1 * corners[c01 + c]) + wy1 * (wx0 * corners[c10 + c] + wx1 * corners[c11 + c]);
            if (v > best) {
                best = v;
                bestClass = c;
            }
        }
        return bestClass;
    }

    private static boolean foreground(float logit) {
        return 1f / (1f + (float) Math.exp(-logit)) > BINARY_THRESHOLD;
    }
}
