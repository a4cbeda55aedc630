package dev.sapienseg.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

class ImageDecoderTest {

    private final ImageDecoder decoder = new ImageDecoder(new ImageLimits(50_000_000, 50_000_000));

    private static FailureReason reasonOf(Runnable r) {
        return assertThrows(SegmentationException.class, r::run).reason();
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void decodesEveryServedFormatToBgrAtTheOriginalSize(ImageFormat format) {
        try (Mat picture = TestImages.paint(120, 90, new Region(0, 0, 60, 90, 14))) {
            byte[] encoded = TestImages.encode(picture, format);
            assertEquals(format, ImageHeaderProbe.probe(encoded).format());
            try (DecodedImage image = decoder.decode(encoded)) {
                assertEquals(120, image.width());
                assertEquals(90, image.height());
                assertEquals(format, image.format());
                int[] red = TestImages.rgbAt(image.bgr(), 10, 45); // class 14 is pure red
                assertTrue(red[0] > 240 && red[1] < 15 && red[2] < 15, java.util.Arrays.toString(red));
            }
        }
    }

    @Test
    void appliesExifOrientation() {
        // 6 = rotate 90° clockwise to display: a 120×90 stored picture becomes 90×120.
        try (Mat picture = TestImages.paint(120, 90, new Region(0, 0, 60, 90, 14))) {
            byte[] rotated = TestImages.withExifOrientation(TestImages.jpeg(picture), 6);
            try (DecodedImage image = decoder.decode(rotated)) {
                assertEquals(90, image.width());
                assertEquals(120, image.height());
                // The red left half is now the top half.
                assertTrue(TestImages.rgbAt(image.bgr(), 45, 10)[0] > 240);
                assertTrue(TestImages.rgbAt(image.bgr(), 45, 110)[0] < 100);
            }
        }
    }

    @Test
    void expandsGreyDropsAlphaAndScales16Bit() {
        try (DecodedImage grey = decoder.decode(TestImages.greyPng(20, 10, 77))) {
            assertArrayEquals(new int[] {77, 77, 77}, TestImages.rgbAt(grey.bgr(), 5, 5));
        }
        try (DecodedImage bgra = decoder.decode(TestImages.bgraPng(20, 10, new int[] {10, 200, 30}))) {
            // Transparent or not, the colour is kept and alpha is dropped (cv2.imread semantics).
            assertArrayEquals(new int[] {10, 200, 30}, TestImages.rgbAt(bgra.bgr(), 2, 5));
            assertArrayEquals(new int[] {10, 200, 30}, TestImages.rgbAt(bgra.bgr(), 15, 5));
        }
        try (DecodedImage deep = decoder.decode(TestImages.png16(20, 10, new int[] {255, 128, 3}))) {
            assertArrayEquals(new int[] {255, 128, 3}, TestImages.rgbAt(deep.bgr(), 5, 5));
        }
    }

    @Test
    void refusesEmptyGarbageAndUnsupportedFormats() {
        assertEquals(FailureReason.EMPTY_IMAGE, reasonOf(() -> decoder.decode(new byte[0])));
        assertEquals(FailureReason.UNSUPPORTED_FORMAT, reasonOf(() -> decoder.decode("hello, world".getBytes())));
        assertEquals(FailureReason.UNSUPPORTED_FORMAT, reasonOf(() -> decoder.decode("GIF89a\1\0\1\0".getBytes())));
        assertEquals(FailureReason.UNSUPPORTED_FORMAT, reasonOf(() -> decoder.decode("%PDF-1.7".getBytes())));
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void refusesTruncatedPictures(ImageFormat format) {
        try (Mat picture = TestImages.gradient(200, 150)) {
            byte[] encoded = TestImages.encode(picture, format);
            byte[] truncated = TestImages.truncate(encoded, encoded.length / 2);
            assertEquals(FailureReason.CORRUPT_IMAGE, reasonOf(() -> decoder.decode(truncated).close()));
            byte[] headerOnly = TestImages.truncate(encoded, 10);
            assertEquals(FailureReason.CORRUPT_IMAGE, reasonOf(() -> decoder.decode(headerOnly).close()));
        }
    }

    @Test
    void refusesDecompressionBombsFromTheHeaderAlone() {
        SegmentationException e = assertThrows(SegmentationException.class,
                () -> decoder.decode(TestImages.pngHeaderDeclaring(60000, 60000)));
        assertEquals(FailureReason.TOO_MANY_PIXELS, e.reason());
        assertTrue(e.getMessage().contains("60000x60000"), e.getMessage());
    }

    @Test
    void enforcesTheConfiguredLimits() {
        ImageDecoder strict = new ImageDecoder(new ImageLimits(1000, 100 * 100));
        ImageDecoder fewPixels = new ImageDecoder(new ImageLimits(1_000_000, 100 * 100));
        try (Mat big = TestImages.gradient(101, 100); Mat small = TestImages.blank(100, 100)) {
            assertEquals(FailureReason.TOO_MANY_PIXELS, reasonOf(() -> fewPixels.decode(TestImages.png(big))));
            byte[] noisy = TestImages.jpeg(big);
            assertTrue(noisy.length > 1000);
            assertEquals(FailureReason.IMAGE_TOO_LARGE, reasonOf(() -> strict.decode(noisy)));
            try (DecodedImage ok = strict.decode(TestImages.png(small))) {
                assertEquals(100, ok.width());
            }
        }
    }
}
