package dev.sapienseg.oip;

import java.util.Arrays;
import java.util.stream.Collectors;

import dev.sapienseg.output.OutputKind;

/**
 * The model's outputs as Open Inference Protocol tensors, for N pictures of H × W: the class ids, the foreground mask
 * ("mask" means the foreground everywhere, as in {@link OutputKind}), the two pictures, each an encoded file, and,
 * sent only when asked for, the two pictures of a selection (request parameters {@code select} and {@code invert}),
 * the instances picture and the shape documents.
 */
enum Output {
    /** Class id per pixel, {@code UINT8 [N, H, W]} (all pictures of the request the same size). */
    CLASS_MAP("class_map", "UINT8", null, 10, 3),
    /** Foreground (class id &gt; 0), {@code BOOL [N, H, W]}. */
    MASK("mask", "BOOL", null, 14, 3),
    /** The class ids as an 8-bit palette PNG, {@code BYTES [N]}. */
    CLASS_PNG("class_png", "BYTES", OutputKind.CLASS_PNG, 0, 0),
    /** Sapiens' side-by-side visualisation (JPEG for a JPEG, else PNG), {@code BYTES [N]}. */
    OVERLAY("overlay", "BYTES", OutputKind.OVERLAY, 0, 0),
    /** The selection as an 8-bit grey PNG (255 selected), {@code BYTES [N]}. */
    SELECTION_MASK("selection_mask", "BYTES", OutputKind.SELECTION_MASK, 0, 0),
    /** The picture cut out by the selection, an RGBA PNG, {@code BYTES [N]}. */
    CUTOUT("cutout", "BYTES", OutputKind.CUTOUT, 0, 0),
    /** The selection's soft alpha, an 8-bit grey PNG, {@code BYTES [N]}. */
    ALPHA("alpha", "BYTES", OutputKind.ALPHA, 0, 0),
    /** One mask per person, an 8-bit grey PNG (0 background, k = person k), {@code BYTES [N]}. */
    INSTANCES("instances", "BYTES", OutputKind.INSTANCES, 0, 0),
    /** The COCO RLE of each class present, the {@code _rle.json} document, {@code BYTES [N]}. */
    RLE("rle", "BYTES", OutputKind.RLE, 0, 0),
    /** The polygons of each class present, the {@code _polygons.json} document, {@code BYTES [N]}. */
    POLYGONS("polygons", "BYTES", OutputKind.POLYGONS, 0, 0);

    private final String tensorName;
    private final String datatype;
    private final OutputKind kind;
    private final int jsonBytesPerPixel;
    private final int binaryBytesPerPixel;

    Output(String tensorName, String datatype, OutputKind kind, int jsonBytesPerPixel, int binaryBytesPerPixel) {
        this.tensorName = tensorName;
        this.datatype = datatype;
        this.kind = kind;
        this.jsonBytesPerPixel = jsonBytesPerPixel;
        this.binaryBytesPerPixel = binaryBytesPerPixel;
    }

    String tensorName() {
        return tensorName;
    }

    String datatype() {
        return datatype;
    }

    /** The pipeline output it is made of, or null (the class map itself). */
    OutputKind kind() {
        return kind;
    }

    /**
     * Memory per pixel its encoding takes, reserved in the memory budget with the request: binary, the bytes and
     * their copy into the response buffer; JSON, the decimal text ({@code "27,"} or {@code "false,"}), its buffer's
     * growth by doubling and the copy. (The pictures' own cost is in the pipeline's estimate.)
     */
    long bytesPerPixel(boolean binary) {
        return binary ? binaryBytesPerPixel : jsonBytesPerPixel;
    }

    /** Sent when a request names no outputs: the class map, the mask, the class PNG and the overlay. */
    boolean byDefault() {
        return kind == null || kind == OutputKind.CLASS_PNG || kind == OutputKind.OVERLAY;
    }

    /** Shows a selection ({@code select}, {@code invert}). */
    boolean selective() {
        return kind != null && kind.selective();
    }

    static Output named(String name) {
        return Arrays.stream(values()).filter(o -> o.tensorName.equals(name)).findFirst().orElse(null);
    }

    static String names() {
        return Arrays.stream(values()).map(Output::tensorName).collect(Collectors.joining(", "));
    }
}
