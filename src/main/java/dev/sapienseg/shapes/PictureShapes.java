package dev.sapienseg.shapes;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.sapienseg.classes.ClassStatistics;

/**
 * The shapes of one picture's class map that were asked for: each class present (background included) as an RLE and
 * as polygons, and the people. Null where not asked for.
 *
 * @param rle by class id, in id order
 * @param polygons by class id, in id order
 * @param persons the instances picture and the people
 */
public record PictureShapes(Map<Integer, Rle> rle, Map<Integer, MultiPolygon> polygons, Persons.Split persons) {

    public static final PictureShapes NONE = new PictureShapes(null, null, null);

    /**
     * @param classes the served model's number of classes
     */
    public static PictureShapes of(byte[] classMap, int width, int height, ClassStatistics statistics, int classes,
            ShapeOptions options, boolean rle, boolean polygons, boolean persons) {
        if (!rle && !polygons && !persons) {
            return NONE;
        }
        return new PictureShapes(rle ? rle(classMap, width, height, statistics, classes, options) : null,
                polygons ? polygons(classMap, width, statistics, options) : null,
                persons ? Persons.split(classMap, width, height, classes, options.minPersonShare(), options.maxRuns())
                        : null);
    }

    private static Map<Integer, Rle> rle(byte[] classMap, int width, int height, ClassStatistics statistics,
            int classes, ShapeOptions options) {
        boolean[] wanted = new boolean[classes];
        statistics.regions().forEach(r -> wanted[r.id()] = true);
        Rle[] encoded = LabelRuns.encode(classMap, width, height, wanted, options.maxRuns(), "class map");
        Map<Integer, Rle> byClass = new LinkedHashMap<>();
        statistics.regions().forEach(r -> byClass.put(r.id(), encoded[r.id()]));
        return Collections.unmodifiableMap(byClass);
    }

    private static Map<Integer, MultiPolygon> polygons(byte[] classMap, int width, ClassStatistics statistics,
            ShapeOptions options) {
        PolygonTracer.Budget budget = new PolygonTracer.Budget(options.maxVertices());
        Map<Integer, MultiPolygon> byClass = new LinkedHashMap<>();
        for (ClassStatistics.ClassRegion r : statistics.regions()) {
            byClass.put(r.id(), PolygonTracer.trace(classMap, width, r.id(), new int[] {r.x(), r.y(), r.width(),
                    r.height()}, options.polygonTolerance(), budget));
        }
        return Collections.unmodifiableMap(byClass);
    }

    /** The people, or null when not asked for. */
    public List<Person> people() {
        return persons == null ? null : persons.persons();
    }
}
