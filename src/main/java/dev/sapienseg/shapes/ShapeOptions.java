package dev.sapienseg.shapes;

/**
 * How the shape outputs ({@code rle}, {@code polygons}, {@code instances}) are made and bounded
 * ({@code sapiens.shapes.*}).
 *
 * @param maxRuns the most runs the run-length encodings of one picture may have together (class masks and persons
 *        each); a class map past it is refused (422 image-too-complex), never truncated: an RLE is exact or absent
 * @param maxVertices the most vertices one picture's polygons may have together, refused the same way past it
 * @param polygonTolerance Douglas–Peucker distance in pixels; 0 keeps every pixel corner (exact)
 * @param minPersonShare the least share of the picture a connected part of the foreground needs to be a person of
 *        its own; smaller parts join the nearest person
 */
public record ShapeOptions(long maxRuns, long maxVertices, double polygonTolerance, double minPersonShare) {

    /** {@code application.properties}' defaults, for code that runs without settings (tests, tools). */
    public static final ShapeOptions DEFAULTS = new ShapeOptions(1_000_000, 1_000_000, 0, 0.002);

    public ShapeOptions {
        if (maxRuns < 1 || maxVertices < 1) {
            throw new IllegalArgumentException("sapiens.shapes.max-runs and max-vertices must be at least 1");
        }
        if (!(polygonTolerance >= 0) || Double.isInfinite(polygonTolerance)) {
            throw new IllegalArgumentException("sapiens.shapes.polygon-tolerance must be 0 or more pixels, not "
                    + polygonTolerance);
        }
        if (!(minPersonShare >= 0 && minPersonShare <= 1)) {
            throw new IllegalArgumentException("sapiens.shapes.min-person-share must be between 0 and 1, not "
                    + minPersonShare);
        }
    }
}
