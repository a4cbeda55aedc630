package dev.sapienseg.output;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

import java.nio.ByteBuffer;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.util.PictureLoops;

/**
 * Sapiens' visualisation: the original picture on the left, on the right the picture blended with the class
 * colours of the model family's palette, background painted too, no labels (H × 2W). The blend is the family's
 * visualiser's: {@code trunc(0.5 × pixel + 0.5 × colour)} for Sapiens v1, {@code cv2.addWeighted} (round half to
 * even) for Sapiens2 ({@link Vocabulary#blend}).
 */
public final class OverlayRenderer {

    private OverlayRenderer() {
    }

    /** Renders the side-by-side picture into a new BGR Mat that the caller must close. */
    public static Mat render(DecodedImage image, byte[] classMap) {
        return render(image, classMap, Vocabulary.GOLIATH_28);
    }

    /** Renders with a family's palette and blend into a new BGR Mat that the caller must close. */
    public static Mat render(DecodedImage image, byte[] classMap, Vocabulary vocabulary) {
        byte[] palette = vocabulary.paletteBgrBytes();
        int w = image.width();
        int h = image.height();
        Mat out = new Mat(h, 2 * w, CV_8UC3);
        ByteBuffer src = image.bgr().data().capacity((long) w * h * 3).asByteBuffer();
        ByteBuffer dst = out.data().capacity((long) w * h * 6).asByteBuffer();
        PictureLoops.forEach(h, (long) w * h, y -> {
            int srcRow = y * w * 3;
            int dstRow = y * w * 6;
            for (int x = 0; x < w; x++) {
                int p = 3 * classMap[y * w + x];
                for (int c = 0; c < 3; c++) {
                    int v = src.get(srcRow + 3 * x + c) & 0xFF;
                    dst.put(dstRow + 3 * x + c, (byte) v);
                    dst.put(dstRow + 3 * (w + x) + c, (byte) vocabulary.blend(v, palette[p + c] & 0xFF));
                }
            }
        });
        return out;
    }

    /** Renders and encodes in {@code format} (see {@link ImageFormat#overlayFormat()}). */
    public static byte[] renderEncoded(DecodedImage image, byte[] classMap, ImageFormat format) {
        return renderEncoded(image, classMap, format, Vocabulary.GOLIATH_28);
    }

    public static byte[] renderEncoded(DecodedImage image, byte[] classMap, ImageFormat format, Vocabulary vocabulary) {
        try (Mat overlay = render(image, classMap, vocabulary)) {
            return encode(overlay, format);
        }
    }

    /** OpenCV's encoder for an 8-bit Mat (grey, BGR or BGRA). */
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
}
