package dev.sapienseg.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.fixtures.CocoMasks;

class LabelRunsTest {

    /** Written by {@code pycocotools.mask.encode} 2.0.11 for each class of {@link #SMALL} (see the test's source). */
    private static final byte[] SMALL = {
        0, 0, 1, 1, 2, 2, 2,
        0, 1, 1, 1, 2, 0, 2,
        3, 3, 1, 0, 0, 0, 2,
        3, 3, 3, 3, 3, 3, 3,
        1, 0, 0, 0, 0, 0, 1};
    private static final String[] PYCOCOTOOLS = {"023O0010N0O010O0010O4", "411022OO?O", "d023O12N", "22301O00000000M"};

    @Test
    void writesWhatPycocotoolsWrites() {
        Rle[] rle = LabelRuns.encode(SMALL, 7, 5, all(4), 1000, "class map");
        for (int c = 0; c < 4; c++) {
            assertEquals(PYCOCOTOOLS[c], rle[c].counts(), "class " + c);
            assertEquals(java.util.List.of(5, 7), rle[c].size());
        }
    }

    @Test
    void longRunsAndNegativeDifferencesAsPycocotools() {
        int w = 200;
        int h = 300;
        byte[] map = new byte[w * h];
        for (int y = 10; y < 290; y++) {
            for (int x = 5; x < 195; x++) {
                map[y * w + x] = (byte) (y >= 100 && y < 120 && x >= 50 && x < 60 ? 0 : 1);
            }
        }
        String counts = LabelRuns.encode(map, w, h, all(2), 1000, "class map")[1].counts();
        assertTrue(counts.startsWith("V_1h8d000") && counts.contains("RJ0`20`M0`20`M") && counts.endsWith("0b^1"),
                counts);
        assertArrayEquals(expected(map, 1), CocoMasks.decode(counts, h, w));
    }

    @Test
    void everyClassDecodesToItsPixelsExactly() {
        Random random = new Random(7);
        int[][] sizes = {{1, 1}, {1, 9}, {9, 1}, {64, 65}, {130, 70}, {3, 200}};
        for (int[] size : sizes) {
            int w = size[0];
            int h = size[1];
            byte[] map = new byte[w * h];
            for (int i = 0; i < map.length; i++) { // runs of random length, some classes absent
                map[i] = random.nextInt(5) == 0 ? (byte) random.nextInt(6) : i > 0 ? map[i - 1] : 0;
            }
            Rle[] rle = LabelRuns.encode(map, w, h, all(7), Long.MAX_VALUE, "class map");
            for (int c = 0; c < 7; c++) {
                assertArrayEquals(expected(map, c), CocoMasks.decode(rle[c].counts(), h, w),
                        w + "x" + h + " class " + c);
            }
        }
    }

    @Test
    void aMapWithMoreRunsThanTheCapIsRefusedNotTruncated() {
        byte[] checkerboard = new byte[100 * 100];
        for (int i = 0; i < checkerboard.length; i++) {
            checkerboard[i] = (byte) (((i % 100) + (i / 100)) % 2);
        }
        // 9,901 runs: a pixel each, but the first of the 99 later columns continues the run the column before ends with
        SegmentationException e = assertThrows(SegmentationException.class,
                () -> LabelRuns.encode(checkerboard, 100, 100, all(2), 9_900, "class map"));
        assertEquals(FailureReason.IMAGE_TOO_COMPLEX, e.reason());
        assertTrue(e.getMessage().contains("9900 runs (sapiens.shapes.max-runs)"), e.getMessage());
        assertEquals(2, LabelRuns.encode(checkerboard, 100, 100, all(2), 9_901, "class map").length);
    }

    static boolean[] all(int n) {
        boolean[] wanted = new boolean[n];
        java.util.Arrays.fill(wanted, true);
        return wanted;
    }

    static boolean[] expected(byte[] map, int label) {
        boolean[] mask = new boolean[map.length];
        for (int i = 0; i < map.length; i++) {
            mask[i] = (map[i] & 0xFF) == label;
        }
        return mask;
    }
}
