package dev.sapienseg.output;

import java.util.List;

import dev.sapienseg.image.ImageFormat;

/**
 * The one naming function of stored outputs: a picture's outputs are named {@code base + suffix}, the suffix by
 * {@link OutputKind} ({@code .npy}, {@code _seg.npy}, {@code _seg.png}, {@code .json}); only the overlay is named
 * per layout, and its format is always {@link ImageFormat#overlayFormat()} (JPEG stays JPEG, anything else is PNG).
 * <ul>
 * <li>{@link #SAPIENS_FOLDER} (the batch command; base = the picture's stem): Sapiens' demo names its visualisation
 * like the input, {@code <stem>.<ext>}; so do we where the input's format is its own overlay format (JPEG and PNG,
 * all the demo reads: {@code a.JPG → a.JPG}, {@code b.png → b.png}); other formats get {@code <stem>.png}.</li>
 * <li>{@link #OBJECT_STORE} (storage; base = prefix + whole key, see {@code OutputKeys}):
 * {@code <base>_overlay.jpg} or {@code <base>_overlay.png}.</li>
 * </ul>
 */
public enum OutputLayout {
    SAPIENS_FOLDER {
        @Override
        String overlay(String base, String pictureExtension) {
            ImageFormat format = formatOf(pictureExtension);
            return base + (format.overlayFormat() == format ? pictureExtension : format.overlayFormat().extension());
        }
    },
    OBJECT_STORE {
        @Override
        String overlay(String base, String pictureExtension) {
            return base + "_overlay" + formatOf(pictureExtension).overlayFormat().extension();
        }
    };

    abstract String overlay(String base, String pictureExtension);

    /**
     * The name of one output.
     *
     * @param base the picture's output name (stem, or prefix and key)
     * @param pictureExtension the picture's extension with its dot: of its file name (batch: decided before decoding,
     *        as Sapiens' {@code cv2.imwrite} does) or of its decoded format (storage); an unknown one counts as PNG
     */
    public String fileName(OutputKind kind, String base, String pictureExtension) {
        if (!kind.perPicture()) {
            throw new IllegalArgumentException(kind.id() + " is not a per-picture output");
        }
        return kind == OutputKind.OVERLAY ? overlay(base, pictureExtension) : base + kind.suffix();
    }

    /** The names of every per-picture kind, in {@link OutputKind} order. */
    public List<String> fileNames(String base, String pictureExtension) {
        return java.util.Arrays.stream(OutputKind.values()).filter(OutputKind::perPicture)
                .map(k -> fileName(k, base, pictureExtension)).toList();
    }

    /** The overlay's format for a picture with this extension: {@link ImageFormat#overlayFormat()} of its format. */
    public static ImageFormat overlayFormat(String pictureExtension) {
        return formatOf(pictureExtension).overlayFormat();
    }

    private static ImageFormat formatOf(String extension) {
        return ImageFormat.byExtension(extension).orElse(ImageFormat.PNG);
    }
}
