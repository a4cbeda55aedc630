package dev.sapienseg.model;

import java.util.Arrays;

/**
 * The segmentation model families this service knows, told apart by what the model itself declares (or its warm-up
 * run shows): the number of output channels and the logits' resolution relative to the input. Each family brings
 * its class vocabulary ({@code classes.Vocabulary}), its pre-processing and its visualisation, exactly as that
 * family's own code does them (see docs/parity.md).
 */
public enum ModelFamily {
    /**
     * Sapiens v1 body-part segmentation (Goliath, 28 classes): logits at half the input size; Sapiens-Lite's
     * pre-processing (INTER_LINEAR stretch).
     */
    SAPIENS("sapiens", 28, 2, Resize.LINEAR, Normalization.LITE),
    /**
     * Sapiens2 body-part segmentation (dome29: 29 classes, Eyeglass at 2): logits at the input size; its
     * {@code SegResize}: INTER_AREA when shrinking the width, INTER_CUBIC otherwise; ImageNet mean and std.
     */
    SAPIENS2("sapiens2", 29, 1, Resize.AREA_OR_CUBIC, Normalization.IMAGENET),
    /** A one-channel foreground model (sigmoid &gt; 0.3), logits at half the input size as Sapiens v1's. */
    FOREGROUND("foreground", 1, 2, Resize.LINEAR, Normalization.LITE);

    /** How the picture is resized to the model's input. */
    public enum Resize {
        /** OpenCV INTER_LINEAR (Sapiens-Lite). */
        LINEAR,
        /** OpenCV INTER_AREA when the target width is smaller than the picture's, else INTER_CUBIC (Sapiens2). */
        AREA_OR_CUBIC
    }

    private final String label;
    private final int classes;
    private final int downscale;
    private final Resize resize;
    private final Normalization normalization;

    ModelFamily(String label, int classes, int downscale, Resize resize, Normalization normalization) {
        this.label = label;
        this.classes = classes;
        this.downscale = downscale;
        this.resize = resize;
        this.normalization = normalization;
    }

    /** The name in replies, health data and metrics. */
    public String label() {
        return label;
    }

    public int classes() {
        return classes;
    }

    /** Input size / logits size. */
    public int downscale() {
        return downscale;
    }

    public Resize resize() {
        return resize;
    }

    /** The normalisation the family's own exports use, when none is configured. */
    public Normalization defaultNormalization() {
        return normalization;
    }

    /** Whether logits of {@code classes} channels at {@code outputHeight}×{@code outputWidth} fit this family. */
    boolean fits(int classes, int inputHeight, int inputWidth, long outputHeight, long outputWidth) {
        return classes == this.classes && outputHeight * downscale == inputHeight && outputWidth * downscale == inputWidth;
    }

    /** The family of a model, or a reason naming what every known family expects. */
    public static ModelFamily of(int classes, int inputHeight, int inputWidth, long outputHeight, long outputWidth)
            throws ModelLoadException {
        for (ModelFamily family : values()) {
            if (family.fits(classes, inputHeight, inputWidth, outputHeight, outputWidth)) {
                return family;
            }
        }
        throw new ModelLoadException("wrong output shape: " + classes + " classes at " + outputHeight + "x" + outputWidth
                + " for an input of " + inputHeight + "x" + inputWidth + "; expected " + expectations(inputHeight, inputWidth));
    }

    /** What the known families expect, for error messages. */
    static String expectations(int inputHeight, int inputWidth) {
        return String.join(", or ", Arrays.stream(values()).map(f -> f.classes + " classes at "
                + (inputHeight / f.downscale) + "x" + (inputWidth / f.downscale) + " (" + f.label + ")").toList());
    }
}
