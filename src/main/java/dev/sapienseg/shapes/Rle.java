package dev.sapienseg.shapes;

import java.util.List;

/**
 * One binary mask in COCO's compressed run-length encoding, exactly as {@code pycocotools.mask.encode} writes it and
 * {@code decode} reads it: {@code size} is {@code [height, width]}; {@code counts} alternates runs of 0 and 1 over the
 * pixels in column-major order (down the first column, then the next), starting with a run of 0 (possibly empty),
 * each count after the second written as its difference to the count two before, in 5-bit groups of
 * printable characters (pycocotools' {@code rleToString}).
 */
public record Rle(List<Integer> size, String counts) {

    public static Rle of(int height, int width, String counts) {
        return new Rle(List.of(height, width), counts);
    }

    /** pycocotools' {@code rleToString} of {@code length} counts. */
    static String compress(int[] counts, int length) {
        StringBuilder s = new StringBuilder(length * 2);
        for (int i = 0; i < length; i++) {
            long x = counts[i];
            if (i > 2) {
                x -= counts[i - 2];
            }
            boolean more = true;
            while (more) {
                int c = (int) (x & 0x1f);
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) {
                    c |= 0x20;
                }
                s.append((char) (c + 48));
            }
        }
        return s.toString();
    }
}
