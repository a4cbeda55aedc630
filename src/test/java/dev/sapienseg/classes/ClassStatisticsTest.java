package dev.sapienseg.classes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClassStatisticsTest {

    @ParameterizedTest
    @CsvSource({"1, 1", "1, 17", "13, 1", "64, 64", "301, 129", "50, 200"})
    void matchesAPixelByPixelCount(int width, int height) {
        Random random = new Random(width * 1000L + height);
        byte[] map = new byte[width * height];
        int current = 0;
        for (int i = 0; i < map.length; i++) {
            if (random.nextInt(7) == 0) {
                current = random.nextInt(28);
            }
            map[i] = (byte) current;
        }
        long[] count = new long[28];
        int[] minX = new int[28];
        int[] minY = new int[28];
        int[] maxX = new int[28];
        int[] maxY = new int[28];
        java.util.Arrays.fill(minX, Integer.MAX_VALUE);
        java.util.Arrays.fill(minY, Integer.MAX_VALUE);
        java.util.Arrays.fill(maxX, -1);
        java.util.Arrays.fill(maxY, -1);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int c = map[y * width + x];
                count[c]++;
                minX[c] = Math.min(minX[c], x);
                minY[c] = Math.min(minY[c], y);
                maxX[c] = Math.max(maxX[c], x);
                maxY[c] = Math.max(maxY[c], y);
            }
        }
        ClassStatistics stats = ClassStatistics.of(map, width, height, GoliathClasses.namesFor(28));
        List<ClassStatistics.ClassRegion> regions = stats.regions();
        int seen = 0;
        long foreground = 0;
        for (int c = 0; c < 28; c++) {
            if (count[c] == 0) {
                continue;
            }
            ClassStatistics.ClassRegion r = regions.get(seen++);
            assertEquals(new ClassStatistics.ClassRegion(c, GoliathClasses.name(c), count[c],
                    count[c] / (double) (width * height), minX[c], minY[c], maxX[c] - minX[c] + 1, maxY[c] - minY[c] + 1), r);
            if (c > 0) {
                foreground += count[c];
            }
        }
        assertEquals(seen, regions.size());
        assertEquals(foreground / (double) (width * height), stats.foregroundShare(), 1e-12);
    }
}
