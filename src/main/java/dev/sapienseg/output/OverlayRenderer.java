package dev.sapienseg.output;

import dev.sapienseg.classes.GoliathClasses;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

import java.nio.ByteBuffer;
import java.util.stream.IntStream;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;

/**
 * Sapiens' visualisation: the original picture on the left, on the right the picture blended with the class
 * colours, {@code trunc(0.5 × pixel + 0.5 × palette[class])}, background painted too, no labels (H × 2W).
 */
public final class OverlayRenderer {

    private static final byte[] PALETTE_BGR = bgrPalette();

    private OverlayRenderer() {
    }

    /** Renders the side-by-side picture into a new BGR Mat that the caller must close. */
    public static Mat render(DecodedImage image, byte[] classMap) {
        int w = image.width();
        int h = image.height();
        Mat out = new Mat(h, 2 * w, CV_8UC3);
        ByteBuffer src = image.bgr().data().capacity((long) w * h * 3).asByteBuffer();
        ByteBuffer dst = out.data().capacity((long) w * h * 6).asByteBuffer();
        IntStream.range(0, h).parallel().forEach(y -> {
            int srcRow = y * w * 3;
            int dstRow = y * w * 6;
            for (int x = 0; x < w; x++) {
                int p = 3 * classMap[y * w + x];
                for (int c = 0; c < 3; c++) {
                    int v = src.get(srcRow + 3 * x + c) & 0xFF;
                    dst.put(dstRow + 3 * x + c, (byte) v);
                    dst.put(dstRow + 3 * (w + x) + c, (byte) ((v + (PALETTE_BGR[p + c] & 0xFF)) >> 1));
                }
            }
        });
        return out;
    }

    /** Renders and encodes in {@code format} (see {@link ImageFormat#overlayFormat()}). */
    public static byte[] renderEncoded(DecodedImage image, byte[] classMap, ImageFormat format) {
        try (Mat overlay = render(image, classMap)) {
            return encode(overlay, format);
        }
    }

    /** OpenCV's encoder for a BGR Mat. */
    public static byte[] encode(Mat bgr, ImageFormat format) {
        try (BytePointer buffer = new BytePointer()) {
            if (!imencode(format.extension(), bgr, buffer)) {
                throw new IllegalStateException("OpenCV could not encode " + format);
            }
            byte[] bytes = new byte[(int) buffer.limit()];
            buffer.get(bytes);
            return bytes;
        }
    }

    private static byte[] bgrPalette() {
        byte[] rgb = GoliathClasses.paletteRgbBytes();
        byte[] bgr = new byte[rgb.length];
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        return bgr;
    }
}
