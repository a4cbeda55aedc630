package dev.sapienseg.image;

import org.bytedeco.opencv.opencv_core.Mat;

/** A decoded picture: 8-bit BGR pixels at the original size, oriented as EXIF says. Owns the native {@link Mat}. */
public final class DecodedImage implements AutoCloseable {

    private final Mat bgr;
    private final ImageFormat format;

    DecodedImage(Mat bgr, ImageFormat format) {
        this.bgr = bgr;
        this.format = format;
    }

    public Mat bgr() {
        return bgr;
    }

    public ImageFormat format() {
        return format;
    }

    public int width() {
        return bgr.cols();
    }

    public int height() {
        return bgr.rows();
    }

    @Override
    public void close() {
        bgr.close();
    }
}
