package dev.sapienseg.pipeline;

import dev.sapienseg.model.ModelFamily;
import dev.sapienseg.model.Normalization;

import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_CUBIC;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import dev.sapienseg.image.DecodedImage;

/**
 * Preprocessing as the model family's own code does it: stretch the uint8 BGR image to the model's input size with
 * OpenCV (itself, because its fixed-point 8-bit weights differ from a float re-implementation by ±1 level) —
 * INTER_LINEAR for Sapiens v1 (Sapiens-Lite), INTER_AREA when the width shrinks and INTER_CUBIC otherwise for Sapiens2
 * ({@code SegResize}) — then write RGB planes normalised per channel into one NCHW slot of the input buffer.
 */
public final class Preprocessor {

    private final int inputHeight;
    private final int inputWidth;
    private final float[][] tables;
    private final ModelFamily.Resize resizeMode;

    public Preprocessor(int inputHeight, int inputWidth, Normalization normalization) {
        this(inputHeight, inputWidth, normalization, ModelFamily.Resize.LINEAR);
    }

    public Preprocessor(int inputHeight, int inputWidth, Normalization normalization, ModelFamily.Resize resize) {
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.tables = normalization.lookupTables();
        this.resizeMode = resize;
    }

    /** The OpenCV interpolation for a picture {@code width} wide. */
    int interpolation(int width) {
        return switch (resizeMode) {
            case LINEAR -> INTER_LINEAR;
            case AREA_OR_CUBIC -> inputWidth < width ? INTER_AREA : INTER_CUBIC; // decided by the width alone, as Sapiens2 does
        };
    }

    /** Writes one image into {@code input} at float offset {@code offset}. */
    public void write(DecodedImage image, FloatBuffer input, int offset) {
        try (Size size = new Size(inputWidth, inputHeight); Mat resized = new Mat()) {
            resize(image.bgr(), resized, size, 0, 0, interpolation(image.width()));
            int plane = inputHeight * inputWidth;
            ByteBuffer bgr = resized.data().capacity((long) plane * 3).asByteBuffer();
            float[] r = tables[0];
            float[] g = tables[1];
            float[] b = tables[2];
            int red = offset;
            int green = offset + plane;
            int blue = offset + 2 * plane;
            for (int i = 0, p = 0; i < plane; i++, p += 3) {
                input.put(blue + i, b[bgr.get(p) & 0xFF]);
                input.put(green + i, g[bgr.get(p + 1) & 0xFF]);
                input.put(red + i, r[bgr.get(p + 2) & 0xFF]);
            }
        }
    }
}
