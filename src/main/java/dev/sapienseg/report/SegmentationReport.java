package dev.sapienseg.report;

import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Selection;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.shapes.MultiPolygon;
import dev.sapienseg.shapes.Person;
import dev.sapienseg.shapes.PictureShapes;
import dev.sapienseg.shapes.Rle;

/**
 * A segmentation as JSON: the data of a {@code sapiens.segment.result} event, and the summary that the batch command
 * and the storage path write beside the other outputs (without pictures). Pictures are base64, named as their
 * {@link OutputKind}: {@code classPng} (class-png: an 8-bit palette PNG whose pixel values are the class ids, in the
 * family's colours), {@code overlay}, {@code selectionMask}, {@code cutout}, {@code alpha} and {@code instances}.
 * Class names are the served family's. Shapes: each class carries its {@code rle} and {@code polygons} when asked
 * for, and {@code persons} lists the people of {@code instances}. A summary holds no shapes but the people without
 * their masks: the shapes are files of their own.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SegmentationReport(String requestId, int width, int height, String format, ModelInfo model,
        double foregroundShare, List<ClassSummary> classes, SelectionSummary selection, StageTimings timings,
        int batchSize, List<Person> persons, Picture classPng, Picture overlay, Picture selectionMask, Picture cutout,
        Picture alpha, Picture instances) {

    /**
     * The selection of the selection mask, the cutout and the alpha: what was asked for, the cutout's edges, the
     * classes it took in the served vocabulary, and its pixels in this picture (by the class map).
     */
    public record SelectionSummary(String expression, boolean invert, String edges, List<Integer> classIds,
            List<String> classes, long pixels, double share) {
    }

    /**
     * The model that produced the result (its file's SHA-256, its source revision when pinned), and where it ran.
     *
     * @param family the model family ({@code sapiens}, {@code sapiens2}, {@code foreground}): whose class ids these are
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ModelInfo(String name, boolean demo, String executionProvider, String providerNote, String family,
            int classes, String normalization, String sha256, String revision) {
    }

    /** One class present in the picture; the box is in pixels of the original picture. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ClassSummary(int id, String name, long pixels, double share, BoundingBox bbox, Rle rle,
            MultiPolygon polygons) {
    }

    public record BoundingBox(int x, int y, int width, int height) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Picture(String contentType, String description, byte[] data) {
    }

    /** The reply to a request: the report and the pictures it asked for. */
    public static SegmentationReport of(String requestId, Segmentation s, SegmentationModel model,
            Normalization normalization) {
        return of(requestId, s, model, normalization, true);
    }

    /** The summary written beside stored outputs: the pictures are objects or files of their own. */
    public static SegmentationReport summary(String requestId, Segmentation s, SegmentationModel model,
            Normalization normalization) {
        return of(requestId, s, model, normalization, false);
    }

    private static SegmentationReport of(String requestId, Segmentation s, SegmentationModel model,
            Normalization normalization, boolean pictures) {
        ModelInfo modelInfo = new ModelInfo(model.name(), model.isDemo(), model.provider().label(),
                model.providerNote(), model.contract().family().label(), model.contract().classes(),
                normalization.name().toLowerCase(java.util.Locale.ROOT),
                model.identity().sha256(), model.identity().revision());
        PictureShapes shapes = pictures ? s.shapes() : PictureShapes.NONE;
        List<ClassSummary> classes = s.statistics().regions().stream()
                .map(r -> summary(r, shapes))
                .toList();
        List<Person> persons = s.shapes().people();
        if (persons != null && !pictures) {
            persons = persons.stream().map(Person::withoutRle).toList();
        }
        return new SegmentationReport(requestId, s.width(), s.height(), s.format().name().toLowerCase(java.util.Locale.ROOT),
                modelInfo, round(s.statistics().foregroundShare()), classes, selection(s), s.timings(), s.batchSize(),
                persons,
                pictures ? picture(s.output(OutputKind.CLASS_PNG)) : null,
                pictures ? picture(s.output(OutputKind.OVERLAY)) : null,
                pictures ? picture(s.output(OutputKind.SELECTION_MASK)) : null,
                pictures ? picture(s.output(OutputKind.CUTOUT)) : null,
                pictures ? picture(s.output(OutputKind.ALPHA)) : null,
                pictures ? picture(s.output(OutputKind.INSTANCES)) : null);
    }

    /** Counted from the class statistics (each pixel has one class): no second pass over the class map. */
    private static SelectionSummary selection(Segmentation s) {
        Selection selection = s.selection();
        if (selection == null) {
            return null;
        }
        long pixels = 0;
        for (ClassStatistics.ClassRegion region : s.statistics().regions()) {
            if (selection.contains(region.id())) {
                pixels += region.pixels();
            }
        }
        return new SelectionSummary(selection.expression(), selection.invert(), s.edges().id(), selection.classIds(),
                selection.classNames(), pixels, round(pixels / ((double) s.width() * s.height())));
    }

    private static Picture picture(OutputFile file) {
        return file == null ? null : new Picture(file.contentType(), file.kind().description(), file.data());
    }

    private static ClassSummary summary(ClassStatistics.ClassRegion r, PictureShapes shapes) {
        return new ClassSummary(r.id(), r.name(), r.pixels(), round(r.share()),
                new BoundingBox(r.x(), r.y(), r.width(), r.height()),
                shapes.rle() == null ? null : shapes.rle().get(r.id()),
                shapes.polygons() == null ? null : shapes.polygons().get(r.id()));
    }

    private static double round(double share) {
        return Math.round(share * 1e6) / 1e6;
    }
}
