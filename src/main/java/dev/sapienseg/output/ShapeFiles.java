package dev.sapienseg.output;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.shapes.Box;
import dev.sapienseg.shapes.MultiPolygon;
import dev.sapienseg.shapes.PictureShapes;
import dev.sapienseg.shapes.Rle;

/**
 * The JSON files of the shape outputs: {@code <name>_rle.json} and {@code <name>_polygons.json}, one document per
 * picture (an Open Inference Protocol {@code BYTES} element carries the same bytes):
 * <pre>
 * {"width": W, "height": H, "classes": [{"id": 0, "name": "Background", "pixels": n, "bbox": {…},
 *     "rle": {"size": [H, W], "counts": "…"}}, …]}
 * {"width": W, "height": H, "tolerance": 0.0, "classes": [{"id": …, "name": …, "pixels": n, "bbox": {…},
 *     "polygons": {"type": "MultiPolygon", "coordinates": […]}}, …]}
 * </pre>
 */
public final class ShapeFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One class of a shape file. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ClassShape(int id, String name, long pixels, Box bbox, Rle rle, MultiPolygon polygons) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Document(int width, int height, Double tolerance, List<ClassShape> classes) {
    }

    private ShapeFiles() {
    }

    public static byte[] rle(PictureShapes shapes, ClassStatistics statistics, int width, int height) {
        return write(new Document(width, height, null, statistics.regions().stream()
                .map(r -> new ClassShape(r.id(), r.name(), r.pixels(), box(r), shapes.rle().get(r.id()), null))
                .toList()));
    }

    public static byte[] polygons(PictureShapes shapes, ClassStatistics statistics, int width, int height,
            double tolerance) {
        return write(new Document(width, height, tolerance, statistics.regions().stream()
                .map(r -> new ClassShape(r.id(), r.name(), r.pixels(), box(r), null,
                        shapes.polygons().get(r.id()))).toList()));
    }

    private static Box box(ClassStatistics.ClassRegion r) {
        return new Box(r.x(), r.y(), r.width(), r.height());
    }

    private static byte[] write(Document document) {
        try {
            return JSON.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a shape file", e);
        }
    }
}
