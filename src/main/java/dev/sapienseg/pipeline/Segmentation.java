package dev.sapienseg.pipeline;

import java.util.List;
import java.util.Map;

import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Selection;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.Edges;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.shapes.PictureShapes;

/**
 * The result for one image at its original (oriented) size.
 *
 * @param classMap one class id per pixel, row-major, {@code width × height}
 * @param outputs the outputs asked for, encoded ({@link dev.sapienseg.output.OutputEncoder})
 * @param batchSize pictures that shared the model run
 * @param selection the classes of the selection outputs, when one was asked for; else null
 * @param shapes the shapes asked for (RLE, polygons, persons), {@link PictureShapes#NONE} if none
 * @param edges the cutout's edges
 */
public record Segmentation(int width, int height, ImageFormat format, List<String> classNames, byte[] classMap,
        ClassStatistics statistics, StageTimings timings, Map<OutputKind, OutputFile> outputs, int batchSize,
        Selection selection, PictureShapes shapes, Edges edges) {

    /** One encoded output, or null if it was not asked for. */
    public OutputFile output(OutputKind kind) {
        return outputs.get(kind);
    }
}
