package dev.sapienseg.shapes;

import static org.bytedeco.opencv.global.opencv_core.CV_32S;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgproc.CC_STAT_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.DIST_L2;
import static org.bytedeco.opencv.global.opencv_imgproc.DIST_LABEL_CCOMP;
import static org.bytedeco.opencv.global.opencv_imgproc.DIST_MASK_5;
import static org.bytedeco.opencv.global.opencv_imgproc.connectedComponentsWithStats;
import static org.bytedeco.opencv.global.opencv_imgproc.distanceTransformWithLabels;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import org.bytedeco.opencv.opencv_core.Mat;

/**
 * One mask per person, from a semantic class map alone: the person (foreground, class id &gt; 0) pixels are split into
 * 8-connected components (OpenCV's {@code connectedComponentsWithStats}). A component of at least {@code minShare} of
 * the picture is a person, and so is the largest one always; at most {@value #MAX_PERSONS} (an 8-bit picture holds
 * their ids), numbered from 1 by their final size, largest first. Every smaller island (a hand cut off by a
 * sleeve-coloured gap, a speck) is given to the person nearest to it (OpenCV's distance transform with labels, 5×5
 * mask), so that the persons' pixels are the foreground's, every one.
 *
 * <p>What this cannot do: people who touch or overlap in the picture form one component, hence one person. A person
 * detector is what separates them; see {@code docs/outputs.md}.
 */
public final class Persons {

    /** Person ids are the instances picture's 8-bit values. */
    public static final int MAX_PERSONS = 255;

    /** The instances picture (0 background, k = person k) and the people. */
    public record Split(byte[] map, List<Person> persons) {
    }

    private Persons() {
    }

    /**
     * @param classMap row-major class ids, {@code width × height}
     * @param classes the served model's number of classes
     * @param maxRuns the bound of the persons' run-length encodings together
     */
    public static Split split(byte[] classMap, int width, int height, int classes, double minShare, long maxRuns) {
        int pixels = Math.multiplyExact(width, height);
        byte[] map = new byte[pixels];
        int count;
        boolean islands = false;
        try (Mat foreground = new Mat(height, width, CV_8UC1); Mat labels = new Mat(); Mat stats = new Mat();
                Mat centroids = new Mat()) {
            ByteBuffer fg = foreground.data().capacity(pixels).asByteBuffer();
            boolean any = false;
            for (int p = 0; p < pixels; p++) {
                boolean person = classMap[p] != 0;
                fg.put(p, (byte) (person ? 1 : 0));
                any |= person;
            }
            if (!any) {
                return new Split(map, List.of());
            }
            int components = connectedComponentsWithStats(foreground, labels, stats, centroids, 8, CV_32S);
            IntBuffer stat = stats.createBuffer();
            int columns = stats.cols();
            long minPixels = Math.max(1, (long) Math.ceil(minShare * pixels));
            List<Integer> bySize = IntStream.range(1, components).boxed()
                    .sorted(Comparator.comparingInt((Integer c) -> -stat.get(c * columns + CC_STAT_AREA))
                            .thenComparingInt(c -> c))
                    .toList();
            int[] personOf = new int[components];
            count = 0;
            for (int c : bySize) {
                if (count < MAX_PERSONS && (count == 0 || stat.get(c * columns + CC_STAT_AREA) >= minPixels)) {
                    personOf[c] = ++count;
                }
            }
            IntBuffer label = labels.createBuffer();
            for (int p = 0; p < pixels; p++) {
                int person = personOf[label.get(p)];
                map[p] = (byte) person;
                islands |= person == 0 && classMap[p] != 0;
            }
        }
        if (islands) { // with the components' pictures released
            attachIslands(classMap, map, width, height);
            renumberBySize(map, count);
        }
        return new Split(map, describe(classMap, map, width, height, classes, count, maxRuns));
    }

    /** Gives each foreground pixel outside every person to the person whose pixels are nearest. */
    private static void attachIslands(byte[] classMap, byte[] map, int width, int height) {
        int pixels = map.length;
        try (Mat sites = new Mat(height, width, CV_8UC1); Mat distance = new Mat(); Mat nearest = new Mat()) {
            ByteBuffer site = sites.data().capacity(pixels).asByteBuffer();
            for (int p = 0; p < pixels; p++) {
                site.put(p, (byte) (map[p] != 0 ? 0 : 255)); // the people's pixels are the zeros it measures to
            }
            distanceTransformWithLabels(sites, distance, nearest, DIST_L2, DIST_MASK_5, DIST_LABEL_CCOMP);
            IntBuffer label = nearest.createBuffer();
            int max = 0;
            for (int p = 0; p < pixels; p++) {
                max = Math.max(max, label.get(p));
            }
            byte[] personOfSite = new byte[max + 1]; // a site component lies within one person: they never touch
            for (int p = 0; p < pixels; p++) {
                if (map[p] != 0) {
                    personOfSite[label.get(p)] = map[p];
                }
            }
            for (int p = 0; p < pixels; p++) {
                if (map[p] == 0 && classMap[p] != 0) {
                    map[p] = personOfSite[label.get(p)];
                }
            }
        }
    }

    /** Islands may change the order of sizes: ids follow the final sizes, largest first. */
    private static void renumberBySize(byte[] map, int count) {
        long[] size = new long[count + 1];
        for (byte k : map) {
            size[k & 0xFF]++;
        }
        List<Integer> order = IntStream.rangeClosed(1, count).boxed()
                .sorted(Comparator.comparingLong((Integer k) -> -size[k]).thenComparingInt(k -> k)).toList();
        byte[] id = new byte[count + 1];
        boolean same = true;
        for (int i = 0; i < count; i++) {
            id[order.get(i)] = (byte) (i + 1);
            same &= order.get(i) == i + 1;
        }
        if (!same) {
            for (int p = 0; p < map.length; p++) {
                map[p] = id[map[p] & 0xFF];
            }
        }
    }

    private static List<Person> describe(byte[] classMap, byte[] map, int width, int height, int classes, int count,
            long maxRuns) {
        long[][] classPixels = new long[count + 1][classes];
        int[][] box = new int[count + 1][];
        for (int k = 1; k <= count; k++) {
            box[k] = new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, -1, -1};
        }
        for (int y = 0, p = 0; y < height; y++) {
            for (int x = 0; x < width; x++, p++) {
                int k = map[p] & 0xFF;
                if (k != 0) {
                    classPixels[k][classMap[p] & 0xFF]++;
                    int[] b = box[k];
                    b[0] = Math.min(b[0], x);
                    b[1] = Math.min(b[1], y);
                    b[2] = Math.max(b[2], x);
                    b[3] = y;
                }
            }
        }
        boolean[] wanted = new boolean[count + 1];
        java.util.Arrays.fill(wanted, 1, count + 1, true);
        Rle[] rle = LabelRuns.encode(map, width, height, wanted, maxRuns, "instances picture");
        List<Person> persons = new ArrayList<>();
        for (int k = 1; k <= count; k++) {
            List<Person.ClassPixels> parts = new ArrayList<>();
            long total = 0;
            for (int c = 0; c < classes; c++) {
                if (classPixels[k][c] > 0) {
                    parts.add(new Person.ClassPixels(c, classPixels[k][c]));
                    total += classPixels[k][c];
                }
            }
            int[] b = box[k];
            persons.add(new Person(k, new Box(b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1), total, rle[k],
                    List.copyOf(parts)));
        }
        return List.copyOf(persons);
    }
}
