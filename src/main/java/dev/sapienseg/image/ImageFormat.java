package dev.sapienseg.image;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The image formats we accept, recognised by their magic bytes (never by a caller's content type), with the one list
 * of file extensions that name pictures and the format of the overlay picture.
 */
public enum ImageFormat {
    JPEG("image/jpeg", ".jpg", ".jpeg"),
    PNG("image/png", ".png"),
    WEBP("image/webp", ".webp"),
    BMP("image/bmp", ".bmp"),
    TIFF("image/tiff", ".tif", ".tiff");

    private final String contentType;
    private final List<String> extensions;

    ImageFormat(String contentType, String... extensions) {
        this.contentType = contentType;
        this.extensions = List.of(extensions);
    }

    public String contentType() {
        return contentType;
    }

    /** The extension we write, with its dot. */
    public String extension() {
        return extensions.get(0);
    }

    /** Every extension of every format, lower case with the dot: {@code .jpg .jpeg .png .webp .bmp .tif .tiff}. */
    public static List<String> pictureExtensions() {
        return Arrays.stream(values()).flatMap(f -> f.extensions.stream()).toList();
    }

    /** The format a file name's extension (any case, with the dot) names, if any. */
    public static Optional<ImageFormat> byExtension(String extension) {
        String wanted = extension.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(f -> f.extensions.contains(wanted)).findFirst();
    }

    /**
     * The format of the overlay (the Sapiens side-by-side picture) in replies and in storage for a picture of this
     * format: JPEG stays JPEG; everything else becomes PNG (lossless, viewable everywhere, and small where BMP would be
     * 6 bytes per pixel). The batch command writes Sapiens' visualisation in the input's own format instead.
     */
    public ImageFormat overlayFormat() {
        return this == JPEG ? JPEG : PNG;
    }
}
