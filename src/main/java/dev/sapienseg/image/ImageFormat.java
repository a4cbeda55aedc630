package dev.sapienseg.image;

/** The image formats we accept, recognised by their magic bytes (never by a caller's content type). */
public enum ImageFormat {
    JPEG("image/jpeg", ".jpg"),
    PNG("image/png", ".png"),
    WEBP("image/webp", ".webp"),
    BMP("image/bmp", ".bmp"),
    TIFF("image/tiff", ".tif");

    private final String contentType;
    private final String extension;

    ImageFormat(String contentType, String extension) {
        this.contentType = contentType;
        this.extension = extension;
    }

    public String contentType() {
        return contentType;
    }

    public String extension() {
        return extension;
    }
}
