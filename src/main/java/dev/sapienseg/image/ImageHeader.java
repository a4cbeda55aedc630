package dev.sapienseg.image;

/** What the first bytes of an encoded image say: its format and stored size (before EXIF orientation). */
public record ImageHeader(ImageFormat format, long width, long height) {

    public long pixels() {
        return width * height;
    }
}
