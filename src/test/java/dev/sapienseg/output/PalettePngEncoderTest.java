package dev.sapienseg.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.Random;

import javax.imageio.ImageIO;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.sapienseg.classes.Vocabulary;

/** ImageIO (an independent PNG reader) must read back exactly the class ids. */
class PalettePngEncoderTest {

    @ParameterizedTest
    @CsvSource({"1, 1", "1, 9", "9, 1", "257, 3", "640, 480"})
    void roundTripsThroughAnIndependentReader(int width, int height) throws Exception {
        Random random = new Random(width + 31L * height);
        byte[] map = new byte[width * height];
        for (int i = 0; i < map.length; i++) {
            map[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(28) : (i > 0 ? map[i - 1] : 0));
        }
        byte[] png = PalettePngEncoder.encode(map, width, height, Vocabulary.GOLIATH_28.paletteRgbBytes());
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(width, image.getWidth());
        assertEquals(height, image.getHeight());
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                assertEquals(map[y * width + x], image.getRaster().getSample(x, y, 0), "at " + x + "," + y);
            }
        }
    }
}
