package dev.sapienseg.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.output.ShapeFiles;
import dev.sapienseg.shapes.PictureShapes;
import dev.sapienseg.shapes.ShapeOptions;

/**
 * The shape outputs of a pathological class map (independent noise of the 28 classes, every pixel its own run): how
 * long the default caps take to refuse it at 12 MP, and what they prevent, measured at 1080p with the caps lifted.
 * Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.ShapeNoiseBenchmark
 * </pre>
 */
public final class ShapeNoiseBenchmark {

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf("cores=%d, java=%s, runs=%d (medians)%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), runs);
        ShapeOptions lifted = new ShapeOptions(Long.MAX_VALUE, Long.MAX_VALUE, 0, 0.002);
        System.out.println("| noise | output | caps | ms | result |");
        System.out.println("|---|---|---|---|---|");
        for (int[] size : new int[][] {{1920, 1080}, {4000, 3000}}) {
            byte[] map = noise(size[0], size[1]);
            ClassStatistics statistics = ClassStatistics.of(map, size[0], size[1], Vocabulary.GOLIATH_28.names());
            for (String output : List.of("rle", "polygons", "instances")) {
                row(size, output, "default", map, statistics, ShapeOptions.DEFAULTS, runs);
                if (size[0] < 4000) {
                    row(size, output, "lifted", map, statistics, lifted, runs);
                }
            }
        }
    }

    private static void row(int[] size, String output, String caps, byte[] map, ClassStatistics statistics,
            ShapeOptions options, int runs) {
        List<Double> ms = new ArrayList<>();
        String result = "";
        for (int i = 0; i < runs + 1; i++) {
            long t0 = System.nanoTime();
            try {
                PictureShapes shapes = PictureShapes.of(map, size[0], size[1], statistics, 28, options,
                        output.equals("rle"), output.equals("polygons"), output.equals("instances"));
                long bytes = switch (output) {
                    case "rle" -> ShapeFiles.rle(shapes, statistics, size[0], size[1]).length;
                    case "polygons" -> ShapeFiles.polygons(shapes, statistics, size[0], size[1], 0).length;
                    default -> shapes.people().size();
                };
                result = output.equals("instances") ? bytes + " person(s)" : String.format("%,d KB", bytes / 1024);
            } catch (SegmentationException e) {
                result = "refused: " + e.reason().code();
            }
            if (i > 0) {
                ms.add((System.nanoTime() - t0) / 1e6);
            }
        }
        Collections.sort(ms);
        System.out.printf("| %dx%d | %s | %s | %.0f | %s |%n", size[0], size[1], output, caps, ms.get(ms.size() / 2),
                result);
    }

    private static byte[] noise(int width, int height) {
        byte[] map = new byte[width * height];
        Random random = new Random(1);
        for (int i = 0; i < map.length; i++) {
            map[i] = (byte) random.nextInt(28);
        }
        return map;
    }
}
