package dev.sapienseg.output;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.shapes.PictureShapes;

/**
 * Encodes the outputs asked for from a picture and its class map: the one place that knows how each
 * {@link OutputKind} is made, used by the request pipeline (replies, storage) and the batch command. The summary is
 * not encoded here: whoever stores the outputs writes it, last.
 */
public final class OutputEncoder {

    /** The encoded outputs, in {@link OutputKind} order, and the shapes they were made of (for the report). */
    public record Encoded(Map<OutputKind, OutputFile> files, PictureShapes shapes) {
    }

    private OutputEncoder() {
    }

    /**
     * @param plan the kinds to encode, the selection of the selective ones and how shapes are made
     * @param statistics the class map's classes present and their boxes
     * @param alpha the selection's soft alpha when {@link OutputPlan#needsAlpha()}, else null
     * @param logits the model's output for the picture when {@link OutputKind#LOGITS_NPY} is planned, else null
     * @param overlayFormat the overlay's format ({@link OutputLayout#overlayFormat}, or the picture's own)
     * @param vocabulary the served model's classes: the palette and the overlay's blend
     */
    public static Encoded encode(OutputPlan plan, DecodedImage image, byte[] classMap, ClassStatistics statistics,
            byte[] alpha, RawLogits logits, ImageFormat overlayFormat, Vocabulary vocabulary) {
        Selection selection = plan.selection();
        int w = image.width();
        int h = image.height();
        PictureShapes shapes = PictureShapes.of(classMap, w, h, statistics, vocabulary.names().size(), plan.shapes(),
                plan.has(OutputKind.RLE), plan.has(OutputKind.POLYGONS), plan.has(OutputKind.INSTANCES));
        Map<OutputKind, OutputFile> files = new EnumMap<>(OutputKind.class);
        for (OutputKind kind : plan.kinds()) {
            switch (kind) {
                case MASK_NPY -> files.put(kind, OutputFile.npy(kind, NpyWriter.foregroundMask(classMap, w, h)));
                case CLASS_NPY -> files.put(kind, OutputFile.npy(kind, NpyWriter.classMap(classMap, w, h)));
                case CLASS_PNG -> files.put(kind, OutputFile.of(kind,
                        PalettePngEncoder.encode(classMap, w, h, vocabulary.paletteRgbBytes())));
                case OVERLAY -> files.put(kind, OutputFile.of(kind, overlayFormat.contentType(),
                        OverlayRenderer.renderEncoded(image, classMap, overlayFormat, vocabulary)));
                case SELECTION_MASK -> files.put(kind, OutputFile.of(kind,
                        SelectionRenderer.maskPng(classMap, w, h, selection)));
                case CUTOUT -> files.put(kind, OutputFile.of(kind, SelectionRenderer.cutoutPng(image, classMap,
                        selection, plan.edges() == Edges.SOFT ? alpha : null)));
                case ALPHA -> files.put(kind, OutputFile.of(kind, SelectionRenderer.greyPng(alpha, w, h)));
                case LOGITS_NPY -> files.put(kind, OutputFile.npy(kind, NpyWriter.logits(logits)));
                case RLE -> files.put(kind, OutputFile.of(kind, ShapeFiles.rle(shapes, statistics, w, h)));
                case POLYGONS -> files.put(kind, OutputFile.of(kind,
                        ShapeFiles.polygons(shapes, statistics, w, h, plan.shapes().polygonTolerance())));
                case INSTANCES -> files.put(kind, OutputFile.of(kind,
                        SelectionRenderer.greyPng(shapes.persons().map(), w, h)));
                case COCO, SUMMARY -> {
                }
            }
        }
        return new Encoded(Collections.unmodifiableMap(files), shapes);
    }
}
