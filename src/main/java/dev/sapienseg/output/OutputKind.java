package dev.sapienseg.output;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The outputs of a segmentation, each with one name used everywhere: in {@code sapiens.storage.outputs}, the
 * {@code sapiensoutputs} event extension, the batch command's {@code --outputs}, replies and file names. "Mask" always
 * means the foreground mask (class id &gt; 0), as in Sapiens' own {@code <stem>.npy}; the per-pixel class ids are
 * "class" outputs. File and object names are made by {@link OutputLayout}.
 */
public enum OutputKind {
    /** Sapiens' {@code <stem>.npy}: the foreground mask, numpy bool (H, W), read by its depth and normal demos. */
    MASK_NPY("mask-npy", ".npy", "application/octet-stream", "foreground mask, numpy bool (H, W)"),
    /** Sapiens' {@code <stem>_seg.npy}: the class ids, numpy int64 (H, W). */
    CLASS_NPY("class-npy", "_seg.npy", "application/octet-stream", "class ids, numpy int64 (H, W)"),
    /** The class ids as an 8-bit palette PNG: exact (read the indices) and viewable (the Goliath colours). */
    CLASS_PNG("class-png", "_seg.png", "image/png", "8-bit palette PNG; pixel value = class id"),
    /** Sapiens' visualisation, original | overlay side by side, in {@code ImageFormat#overlayFormat()}. */
    OVERLAY("overlay", null, null, "original | overlay, side by side"),
    /** The selection ({@code dev.sapienseg.classes.Selection}) as an 8-bit grey PNG: 255 selected, 0 not. */
    SELECTION_MASK("selection-mask", "_selection.png", "image/png", "selection mask PNG; 255 = selected, 0 = not"),
    /** The picture cut out by the selection: an RGBA PNG, alpha 255 where selected, transparent black elsewhere. */
    CUTOUT("cutout", "_cutout.png", "image/png", "RGBA PNG of the picture; alpha = selection"),
    /**
     * The selection's soft alpha ({@code dev.sapienseg.pipeline.SoftAlpha}): 8-bit grey PNG, the selected classes'
     * share of the softmax of the upsampled logits; what a cutout with soft {@link Edges} uses.
     */
    ALPHA("alpha", "_alpha.png", "image/png", "soft selection PNG; 255 × the selected classes' probability"),
    /** COCO run-length encoding of every class present ({@code dev.sapienseg.shapes.Rle}), exact. */
    RLE("rle", "_rle.json", "application/json", "COCO RLE of each class present"),
    /** Every class present as a GeoJSON MultiPolygon along pixel edges ({@code dev.sapienseg.shapes.MultiPolygon}). */
    POLYGONS("polygons", "_polygons.json", "application/json", "polygons of each class present, GeoJSON MultiPolygon"),
    /** One mask per person ({@code dev.sapienseg.shapes.Persons}): 8-bit grey PNG, 0 background, k = person k. */
    INSTANCES("instances", "_instances.png", "image/png", "grey PNG; 0 = background, k = person k"),
    /** The model's raw output for the picture ({@link RawLogits}), for people who post-process themselves. */
    LOGITS_NPY("logits-npy", "_logits.npy", "application/octet-stream", "model output, numpy float16/32 (C, h, w)"),
    /**
     * The batch command's COCO dataset of the whole run, {@code coco.json} beside the outputs (it needs {@link #RLE}
     * per picture, which it adds): not a per-picture output, so no reply, protocol or bucket carries it.
     */
    COCO("coco", null, "application/json", "COCO dataset of a folder run"),
    /** The JSON report; written last where outputs are stored, so its presence marks the set complete. */
    SUMMARY("summary", ".json", "application/json", "segmentation report");

    private final String id;
    private final String suffix;
    private final String contentType;
    private final String description;

    OutputKind(String id, String suffix, String contentType, String description) {
        this.id = id;
        this.suffix = suffix;
        this.contentType = contentType;
        this.description = description;
    }

    /** The name in configuration, events, options and logs. */
    public String id() {
        return id;
    }

    /** Appended to a picture's output name (every kind but the overlay, whose name {@link OutputLayout} decides). */
    String suffix() {
        return suffix;
    }

    /** The media type (the overlay's follows its format). */
    public String contentType() {
        return contentType;
    }

    public String description() {
        return description;
    }

    /** Every id, comma-separated, for messages. */
    public static String ids() {
        return Arrays.stream(values()).map(OutputKind::id).collect(Collectors.joining(", "));
    }

    /**
     * The kind with this id (any case, spaces trimmed).
     *
     * @throws IllegalArgumentException naming the entry and what is accepted
     */
    public static OutputKind of(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (OutputKind kind : values()) {
            if (kind.id.equals(wanted)) {
                return kind;
            }
        }
        if (wanted.equals("mask")) {
            throw new IllegalArgumentException("unknown output 'mask': the palette PNG of class ids is now 'class-png'"
                    + " ('mask' names only the foreground mask, 'mask-npy'); use " + ids());
        }
        throw new IllegalArgumentException("unknown output '" + name.trim() + "'; use " + ids());
    }

    /** False for {@link #COCO}, made once per batch run from every picture's {@link #RLE}. */
    public boolean perPicture() {
        return this != COCO;
    }

    /** True for the outputs made from a selection of classes. */
    public boolean selective() {
        return this == SELECTION_MASK || this == CUTOUT || this == ALPHA;
    }
}
