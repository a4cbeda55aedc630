package dev.sapienseg.pipeline;

import java.util.Arrays;

import dev.sapienseg.util.PictureLoops;

/**
 * Sapiens' post-processing, fused: bilinear upsampling of the logits to the original image size
 * ({@code F.interpolate(mode="bilinear", align_corners=False)}) followed by an argmax over the classes,
 * without ever materialising the {@code classes × H × W} upsampled logits (0.93 GB for a 4K frame).
 *
 * <p>Why the shortcut is exact: an upsampled value is a convex combination of the four source corners around it,
 * with the same weights for every class. If one class wins (first index on ties) at all four corners, the
 * difference between it and any other class is a convex combination of non-negative numbers, so it wins
 * everywhere inside that cell too. Only output pixels whose cell has disagreeing corners (class boundaries)
 * are interpolated, and only for the classes that can still win there ({@link CellRows}); the rest are filled run by
 * run. One-channel models use
 * {@code sigmoid(logit) > 0.3}, which is monotone in the logit, so the same argument holds.
 *
 * <p>Coordinates, weights and the order of the sums follow PyTorch's CPU kernel ({@code UpSample.h},
 * {@code UpSampleKernel.cpp}), so results agree with it except where two class scores tie to within float rounding
 * ({@code TorchParityTest} checks this against PyTorch itself). Extra memory per task (a range of at least 16 output
 * rows): two source rows of logits ({@code C × W} floats each) and their classes; the output is
 * one byte per pixel.
 */
public final class UpsampleArgmax {

    /** Sapiens' threshold for one-channel (foreground) models. */
    public static final float BINARY_THRESHOLD = 0.3f;

    private static final int ROWS_PER_TASK = 16;

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

        SourceColumns columns = SourceColumns.of(w, outWidth); // shared by all output rows
        int[] x0 = columns.x0();
        float[] wx1 = columns.wx1();
        int[] firstColumn = columns.firstColumn();
        float scaleY = (float) h / outHeight;
        byte[] out = new byte[Math.multiplyExact(outHeight, outWidth)];

        PictureLoops.forEachRange(outHeight, ROWS_PER_TASK, (long) outHeight * outWidth, (fromRow, toRow) -> {
            CellRows rows = new CellRows(logits);
            byte[] cell = new byte[w];
            int cachedY0 = -1;
            for (int oy = fromRow; oy < toRow; oy++) {
                double real = sourceIndex(scaleY, oy);
                int y0 = (int) real;
                int y1 = y0 < h - 1 ? y0 + 1 : y0;
                float wy1 = upperWeight(real, y0);
                float wy0 = 1f - wy1;
                if (y0 != cachedY0) {
                    rows.select(y0, y1);
                    uniformCells(rows.topClasses(), rows.bottomClasses(), w, cell);
                    cachedY0 = y0;
                }
                int rowBase = oy * outWidth;
                int ox = 0;
                while (ox < outWidth) {
                    int sx = x0[ox];
                    byte c = cell[sx];
                    if (c >= 0) { // a run of uniform cells of one class: a fill
                        int x = sx + 1;
                        while (x < w && cell[x] == c) {
                            x++;
                        }
                        int end = firstColumn[x];
                        Arrays.fill(out, rowBase + ox, rowBase + end, c);
                        ox = end;
                    } else {
                        for (int end = firstColumn[sx + 1]; ox < end; ox++) {
                            float lx1 = wx1[ox];
                            out[rowBase + ox] = rows.interpolatedClass(sx, wy0, wy1, 1f - lx1, lx1);
                        }
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

    /** For the cell between two source rows at each column x0: its class if all four corners agree, else -1. */
    private static void uniformCells(byte[] top, byte[] bottom, int w, byte[] cell) {
        for (int x = 0; x < w; x++) {
            int x1 = x < w - 1 ? x + 1 : x;
            byte a = top[x];
            cell[x] = (a == top[x1] && a == bottom[x] && a == bottom[x1]) ? a : -1;
        }
    }

    static boolean foreground(float logit) {
        return 1f / (1f + (float) Math.exp(-logit)) > BINARY_THRESHOLD;
    }
}
