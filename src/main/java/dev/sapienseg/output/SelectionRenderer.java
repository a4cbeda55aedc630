package dev.sapienseg.output;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC4;

import java.nio.ByteBuffer;

import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.util.PictureLoops;

/**
 * The pictures of a {@link Selection}, at the picture's original (oriented) size, both PNG:
 * <ul>
 * <li>the mask: 8-bit grey, 255 where the pixel's class is selected, 0 elsewhere;</li>
 * <li>the cutout: RGBA, the picture's colours where selected (alpha 255), fully transparent black elsewhere. The hidden
 * pixels are zeroed, not only made transparent, so that an inverted selection (say, everything but the face) really
 * removes what it hides from the file. With soft edges the alpha is the selection's soft alpha, and only pixels
 * whose alpha rounds to 0 are zeroed.</li>
 * </ul>
 */
public final class SelectionRenderer {

    private SelectionRenderer() {
    }

    /** The mask as a new 8-bit Mat that the caller must close. */
    public static Mat mask(byte[] classMap, int width, int height, Selection selection) {
        byte[] table = selection.lookup();
        Mat out = new Mat(height, width, CV_8UC1);
        ByteBuffer dst = out.data().capacity((long) width * height).asByteBuffer();
        PictureLoops.forEach(height, (long) width * height, y -> {
            int row = y * width;
            for (int x = 0; x < width; x++) {
                dst.put(row + x, table[classMap[row + x] & 0xFF]);
            }
        });
        return out;
    }

    /** The cutout as a new BGRA Mat that the caller must close. */
    public static Mat cutout(DecodedImage image, byte[] classMap, Selection selection) {
        return cutout(image, classMap, selection.lookup(), null);
    }

    /**
     * @param table the alpha of each class (hard edges), used when {@code softAlpha} is null
     * @param softAlpha the alpha of each pixel (soft edges), or null
     */
    private static Mat cutout(DecodedImage image, byte[] classMap, byte[] table, byte[] softAlpha) {
        int w = image.width();
        int h = image.height();
        Mat out = new Mat(h, w, CV_8UC4);
        ByteBuffer src = image.bgr().data().capacity((long) w * h * 3).asByteBuffer();
        ByteBuffer dst = out.data().capacity((long) w * h * 4).asByteBuffer();
        PictureLoops.forEach(h, (long) w * h, y -> {
            for (int x = 0, i = y * w; x < w; x++, i++) {
                byte alpha = softAlpha != null ? softAlpha[i] : table[classMap[i] & 0xFF];
                if (alpha == 0) {
                    dst.putInt(4 * i, 0);
                } else {
                    dst.put(4 * i, src.get(3 * i));
                    dst.put(4 * i + 1, src.get(3 * i + 1));
                    dst.put(4 * i + 2, src.get(3 * i + 2));
                    dst.put(4 * i + 3, alpha);
                }
            }
        });
        return out;
    }

    public static byte[] maskPng(byte[] classMap, int width, int height, Selection selection) {
        try (Mat mask = mask(classMap, width, height, selection)) {
            return OverlayRenderer.encode(mask, ImageFormat.PNG);
        }
    }

    /** An 8-bit grey PNG of {@code values} (the instances picture). */
    public static byte[] greyPng(byte[] values, int width, int height) {
        try (Mat grey = new Mat(height, width, CV_8UC1)) {
            grey.data().capacity((long) width * height).put(values);
            return OverlayRenderer.encode(grey, ImageFormat.PNG);
        }
    }

    /** @param softAlpha the selection's soft alpha (soft edges), or null for hard edges */
    public static byte[] cutoutPng(DecodedImage image, byte[] classMap, Selection selection, byte[] softAlpha) {
        try (Mat cutout = cutout(image, classMap, selection.lookup(), softAlpha)) {
            return OverlayRenderer.encode(cutout, ImageFormat.PNG);
        }
    }
}
