package dev.sapienseg.image;

/**
 * What the headers of an encoded image say: its format, stored size (before EXIF orientation), and the bytes the
 * decoder holds at the picture's source depth while decoding, beyond its 8-bit BGR output (a TIFF strip or tile at
 * its samples × bytes per sample, a progressive JPEG's coefficients; 0 where the decoder converts row by row into the
 * output, as libpng does).
 */
public record ImageHeader(ImageFormat format, long width, long height, long workingBytes) {

    public ImageHeader(ImageFormat format, long width, long height) {
        this(format, width, height, 0);
    }

    /** Saturates at Long.MAX_VALUE: two 32-bit sizes (a PNG's 0xFFFFFFFF × 0xFFFFFFFF) overflow a long. */
    public long pixels() {
        return ImageHeaderProbe.times(width, height);
    }
}
