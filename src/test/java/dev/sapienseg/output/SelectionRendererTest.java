package dev.sapienseg.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Random;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;

/**
 * The selection mask and the cutout against the class map, pixel by pixel, read back with Java's own PNG decoder (not
 * the OpenCV that wrote them): every class id, an odd size, plain and inverted.
 */
class SelectionRendererTest {

    private static final int W = 157;
    private static final int H = 93;

    private static byte[] randomClassMap(int classes, long seed) {
        Random random = new Random(seed);
        byte[] map = new byte[W * H];
        for (int i = 0; i < map.length; i++) {
            // runs of one class, as real maps have, and every id somewhere
            map[i] = i > 0 && random.nextInt(4) > 0 ? map[i - 1] : (byte) random.nextInt(classes);
        }
        return map;
    }

    private static BufferedImage read(byte[] png) throws IOException {
        return ImageIO.read(new ByteArrayInputStream(png));
    }

    @Test
    void maskAndCutoutMatchTheClassMapToThePixel() throws IOException {
        byte[] picture;
        try (Mat gradient = TestImages.gradient(W, H)) {
            picture = TestImages.png(gradient);
        }
        BufferedImage original = read(picture);
        for (Vocabulary vocabulary : new Vocabulary[] {Vocabulary.GOLIATH_28, Vocabulary.DOME_29}) {
            byte[] classMap = randomClassMap(vocabulary.names().size(), vocabulary.names().size());
            for (boolean invert : new boolean[] {false, true}) {
                Selection selection = Selection.parse("face+hair+Left_Hand", invert, vocabulary);
                try (DecodedImage image = new ImageDecoder(new ImageLimits(1 << 24, 1 << 24)).decode(picture)) {
                    BufferedImage mask = read(SelectionRenderer.maskPng(classMap, W, H, selection));
                    BufferedImage cutout = read(SelectionRenderer.cutoutPng(image, classMap, selection, null));
                    assertEquals(BufferedImage.TYPE_BYTE_GRAY, mask.getType());
                    assertEquals(4, cutout.getRaster().getNumBands());
                    assertEquals(W, cutout.getWidth());
                    assertEquals(H, cutout.getHeight());
                    Raster m = mask.getRaster();
                    Raster c = cutout.getRaster();
                    Raster o = original.getRaster();
                    for (int y = 0; y < H; y++) {
                        for (int x = 0; x < W; x++) {
                            int id = classMap[y * W + x];
                            boolean in = selection.contains(id);
                            String at = vocabulary.name() + " invert=" + invert + " (" + x + "," + y + ") class " + id;
                            assertEquals(in ? 255 : 0, m.getSample(x, y, 0), at);
                            assertEquals(in ? 255 : 0, c.getSample(x, y, 3), at);
                            for (int band = 0; band < 3; band++) {
                                assertEquals(in ? o.getSample(x, y, band) : 0, c.getSample(x, y, band), at);
                            }
                        }
                    }
                }
            }
        }
    }
}
