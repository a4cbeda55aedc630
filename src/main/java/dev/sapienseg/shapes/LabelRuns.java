package dev.sapienseg.shapes;

import java.util.Arrays;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * The COCO RLE ({@link Rle}) of every wanted label of a label map (class ids, or person ids), in one pass: the map is
 * transposed in tiles to column-major order, then each maximal run of one label closes a run of that label's mask
 * and the run of 0 before it. The counts of all labels together are bounded by {@code maxRuns} (runs of wanted
 * labels): a map past it is refused as {@link FailureReason#IMAGE_TOO_COMPLEX} rather than answered with an encoding
 * larger than the picture.
 */
public final class LabelRuns {

    private static final int TILE = 64;

    private LabelRuns() {
    }

    /**
     * @param labels row-major, {@code width × height}, each an unsigned byte
     * @param wanted {@code wanted[label]}: encode this label (its RLE is made even if absent: all 0)
     * @param what the map's name in the refusal ("class map")
     * @return the RLE of each wanted label, indexed by label; null for the others
     */
    public static Rle[] encode(byte[] labels, int width, int height, boolean[] wanted, long maxRuns, String what) {
        int pixels = Math.multiplyExact(width, height);
        byte[] columns = transpose(labels, width, height);
        int[][] counts = new int[wanted.length][];
        int[] lengths = new int[wanted.length];
        int[] lastEnd = new int[wanted.length];
        for (int l = 0; l < wanted.length; l++) {
            if (wanted[l]) {
                counts[l] = new int[16];
            }
        }
        long runs = 0;
        int start = 0;
        while (start < pixels) {
            int label = columns[start] & 0xFF;
            int end = start + 1;
            while (end < pixels && columns[end] == columns[start]) {
                end++;
            }
            if (label < wanted.length && wanted[label]) {
                if (++runs > maxRuns) {
                    throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "the " + what + " has more than "
                            + maxRuns + " runs (sapiens.shapes.max-runs): its run-length encoding would outgrow the"
                            + " picture; ask for class-png instead");
                }
                add(counts, lengths, label, start - lastEnd[label]);
                add(counts, lengths, label, end - start);
                lastEnd[label] = end;
            }
            start = end;
        }
        Rle[] out = new Rle[wanted.length];
        for (int l = 0; l < wanted.length; l++) {
            if (wanted[l]) {
                if (lastEnd[l] < pixels || lengths[l] == 0) {
                    add(counts, lengths, l, pixels - lastEnd[l]);
                }
                out[l] = Rle.of(height, width, Rle.compress(counts[l], lengths[l]));
            }
        }
        return out;
    }

    private static void add(int[][] counts, int[] lengths, int label, int count) {
        if (lengths[label] == counts[label].length) {
            counts[label] = Arrays.copyOf(counts[label], counts[label].length * 2);
        }
        counts[label][lengths[label]++] = count;
    }

    /** Column-major copy, in tiles so that both sides stay in cache. */
    static byte[] transpose(byte[] rows, int width, int height) {
        byte[] columns = new byte[rows.length];
        for (int y0 = 0; y0 < height; y0 += TILE) {
            int y1 = Math.min(height, y0 + TILE);
            for (int x0 = 0; x0 < width; x0 += TILE) {
                int x1 = Math.min(width, x0 + TILE);
                for (int x = x0; x < x1; x++) {
                    int column = x * height;
                    for (int y = y0; y < y1; y++) {
                        columns[column + y] = rows[y * width + x];
                    }
                }
            }
        }
        return columns;
    }
}
