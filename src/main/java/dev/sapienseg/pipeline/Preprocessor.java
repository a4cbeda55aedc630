package dev.sapienseg.pipeline;

import dev.sapienseg.model.ModelFamily;
import dev.sapienseg.model.Normalization;

import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_CUBIC;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

import ai.onnxruntime.platform.Fp16Conversions;

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
    /** The same values as float16 bits, for models that take halves: rounded once here, as a conversion would. */
    private final short[][] halfTables;
    private final ModelFamily.Resize resizeMode;

    public Preprocessor(int inputHeight, int inputWidth, Normalization normalization) {
        this(inputHeight, inputWidth, normalization, ModelFamily.Resize.LINEAR);
    }

    public Preprocessor(int inputHeight, int inputWidth, Normalization normalization, ModelFamily.Resize resize) {
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.tables = normalization.lookupTables();
        this.halfTables = new short[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                halfTables[c][v] = Fp16Conversions.floatToFp16(tables[c][v]);
            }
        }
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
        try (Mat resized = new Mat()) {
            ByteBuffer bgr = resize(image, resized);
            int plane = inputHeight * inputWidth;
            float[] r = tables[0];
            float[] g = tables[1];
            float[] b = tables[2];
            // Row by row through arrays: bulk copies in and out instead of a checked buffer access per value.
            byte[] row = new byte[inputWidth * 3];
            float[] red = new float[inputWidth];
            float[] green = new float[inputWidth];
            float[] blue = new float[inputWidth];
            for (int y = 0; y < inputHeight; y++) {
                bgr.get(y * row.length, row);
                for (int x = 0, p = 0; x < inputWidth; x++, p += 3) {
                    blue[x] = b[row[p] & 0xFF];
                    green[x] = g[row[p + 1] & 0xFF];
                    red[x] = r[row[p + 2] & 0xFF];
                }
                int at = offset + y * inputWidth;
                input.put(at, red).put(at + plane, green).put(at + 2 * plane, blue);
            }
        }
    }

    /**
     * Writes one image as float16 values into {@code input} at offset {@code offset} (in halves): the same values the
     * float path writes, each rounded to the nearest half, on the caller's thread. (The loop is the float one over
     * other primitive types: a shared one would cost a call per value.)
     */
    public void writeHalf(DecodedImage image, ShortBuffer input, int offset) {
        try (Mat resized = new Mat()) {
            ByteBuffer bgr = resize(image, resized);
            int plane = inputHeight * inputWidth;
            short[] r = halfTables[0];
            short[] g = halfTables[1];
            short[] b = halfTables[2];
            byte[] row = new byte[inputWidth * 3];
            short[] red = new short[inputWidth];
            short[] green = new short[inputWidth];
            short[] blue = new short[inputWidth];
            for (int y = 0; y < inputHeight; y++) {
                bgr.get(y * row.length, row);
                for (int x = 0, p = 0; x < inputWidth; x++, p += 3) {
                    blue[x] = b[row[p] & 0xFF];
                    green[x] = g[row[p + 1] & 0xFF];
                    red[x] = r[row[p + 2] & 0xFF];
                }
                int at = offset + y * inputWidth;
                input.put(at, red).put(at + plane, green).put(at + 2 * plane, blue);
            }
        }
    }

    /** Stretches the picture to the model's input size into {@code resized}; its interleaved BGR bytes. */
    private ByteBuffer resize(DecodedImage image, Mat resized) {
        try (Size size = new Size(inputWidth, inputHeight)) {
            org.bytedeco.opencv.global.opencv_imgproc.resize(image.bgr(), resized, size, 0, 0,
                    interpolation(image.width()));
        }
        return resized.data().capacity((long) inputHeight * inputWidth * 3).asByteBuffer();
    }
}
