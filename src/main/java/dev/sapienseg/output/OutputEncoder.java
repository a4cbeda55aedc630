package dev.sapienseg.output;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;

/**
 * Encodes the outputs asked for from a picture and its class map: the one place that knows how each
 * {@link OutputKind} is made, used by the request pipeline (replies, storage) and the batch command. The summary is
 * not encoded here: whoever stores the outputs writes it, last.
 */
public final class OutputEncoder {

    private OutputEncoder() {
    }

    /**
     * @param plan the kinds to encode and the selection of the selective ones
     * @param overlayFormat the overlay's format ({@link OutputLayout#overlayFormat}, or the picture's own)
     * @param vocabulary the served model's classes: the palette and the overlay's blend
     * @return the encoded outputs, in {@link OutputKind} order
     */
    public static Map<OutputKind, OutputFile> encode(OutputPlan plan, DecodedImage image, byte[] classMap,
            ImageFormat overlayFormat, Vocabulary vocabulary) {
        Selection selection = plan.selection();
        int w = image.width();
        int h = image.height();
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
                case CUTOUT -> files.put(kind, OutputFile.of(kind,
                        SelectionRenderer.cutoutPng(image, classMap, selection)));
                case SUMMARY -> {
                }
            }
        }
        return Collections.unmodifiableMap(files);
    }
}
