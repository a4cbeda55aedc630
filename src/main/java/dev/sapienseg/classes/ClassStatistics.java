package dev.sapienseg.classes;

import java.util.ArrayList;
import java.util.List;

import dev.sapienseg.util.PictureLoops;

/** Per-class pixel counts and bounding boxes of a class map, computed in one pass (parallel by row blocks). */
public final class ClassStatistics {

    /** One class present in the image. Bounding box is inclusive-exclusive: x..x+width, y..y+height. */
    public record ClassRegion(int id, String name, long pixels, double share, int x, int y, int width, int height) {
    }

    private final List<ClassRegion> regions;
    private final double foregroundShare;

    private ClassStatistics(List<ClassRegion> regions, double foregroundShare) {
        this.regions = regions;
        this.foregroundShare = foregroundShare;
    }

    public List<ClassRegion> regions() {
        return regions;
    }

    /** Share of pixels whose class id is not 0 (background). */
    public double foregroundShare() {
        return foregroundShare;
    }

    public static ClassStatistics of(byte[] classMap, int width, int height, List<String> classNames) {
        int classes = classNames.size();
        int blockRows = 64;
        int blocks = (height + blockRows - 1) / blockRows;
        long[][] partial = PictureLoops.map(blocks, (long) width * height, b -> {
            // per class: count, minX, minY, maxX, maxY
            long[] acc = new long[classes * 5];
            for (int c = 0; c < classes; c++) {
                acc[c * 5 + 1] = Long.MAX_VALUE;
                acc[c * 5 + 2] = Long.MAX_VALUE;
                acc[c * 5 + 3] = -1;
                acc[c * 5 + 4] = -1;
            }
            int end = Math.min(height, (b + 1) * blockRows);
            for (int y = b * blockRows; y < end; y++) {
                int base = y * width;
                int x = 0;
                while (x < width) { // class maps are long runs of one class: account per run, not per pixel
                    int c = classMap[base + x];
                    int start = x;
                    while (x < width && classMap[base + x] == c) {
                        x++;
                    }
                    int k = c * 5;
                    acc[k] += x - start;
                    acc[k + 1] = Math.min(acc[k + 1], start);
                    acc[k + 2] = Math.min(acc[k + 2], y);
                    acc[k + 3] = Math.max(acc[k + 3], x - 1);
                    acc[k + 4] = y; // rows ascend
                }
            }
            return acc;
        }, long[][]::new);

        double total = (double) width * height;
        List<ClassRegion> regions = new ArrayList<>();
        long foreground = 0;
        for (int c = 0; c < classes; c++) {
            long count = 0;
            long minX = Long.MAX_VALUE;
            long minY = Long.MAX_VALUE;
            long maxX = -1;
            long maxY = -1;
            for (long[] acc : partial) {
                int k = c * 5;
                count += acc[k];
                minX = Math.min(minX, acc[k + 1]);
                minY = Math.min(minY, acc[k + 2]);
                maxX = Math.max(maxX, acc[k + 3]);
                maxY = Math.max(maxY, acc[k + 4]);
            }
            if (count == 0) {
                continue;
            }
            if (c > 0) {
                foreground += count;
            }
            regions.add(new ClassRegion(c, classNames.get(c), count, count / total, (int) minX, (int) minY,
                    (int) (maxX - minX + 1), (int) (maxY - minY + 1)));
        }
        return new ClassStatistics(List.copyOf(regions), foreground / total);
    }
}
