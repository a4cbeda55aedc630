package dev.sapienseg.output;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

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
     * @param overlayFormat the overlay's format ({@link OutputLayout#overlayFormat})
     * @return the encoded outputs, in {@link OutputKind} order
     */
    public static Map<OutputKind, OutputFile> encode(Set<OutputKind> kinds, DecodedImage image, byte[] classMap,
            ImageFormat overlayFormat) {
        return encode(kinds, image, classMap, overlayFormat, Vocabulary.GOLIATH_28,
                Selection.parse(null, false, Vocabulary.GOLIATH_28)); // the person, should a selective kind be asked
    }

    /**
     * @param vocabulary the served model's classes: the palette and the overlay's blend
     * @param selection the classes of the selection mask and the cutout; may be null when neither is asked for
     */
    public static Map<OutputKind, OutputFile> encode(Set<OutputKind> kinds, DecodedImage image, byte[] classMap,
            ImageFormat overlayFormat, Vocabulary vocabulary, Selection selection) {
        int w = image.width();
        int h = image.height();
        Map<OutputKind, OutputFile> files = new EnumMap<>(OutputKind.class);
        for (OutputKind kind : kinds) {
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
