package dev.sapienseg.config;

import dev.sapienseg.shapes.ShapeOptions;

/** {@code sapiens.shapes.*}: how the rle, polygons and instances outputs are made and bounded. */
public interface ShapeSettings {

    /** The most runs one picture's RLEs may have together; a picture past it is refused (422), never truncated. */
    long maxRuns();

    /** The most vertices one picture's polygons may have together; refused the same way past it. */
    long maxVertices();

    /** Douglas–Peucker distance in pixels for the polygons; 0 keeps every pixel corner (exact). */
    double polygonTolerance();

    /** The least share of the picture a connected part of the foreground needs to be a person of its own. */
    double minPersonShare();

    /**
     * The settings as checked options.
     *
     * @throws IllegalArgumentException naming the setting that is out of range
     */
    static ShapeOptions options(ShapeSettings settings) {
        return new ShapeOptions(settings.maxRuns(), settings.maxVertices(), settings.polygonTolerance(),
                settings.minPersonShare());
    }
}
