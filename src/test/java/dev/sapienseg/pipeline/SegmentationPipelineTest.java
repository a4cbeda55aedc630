package dev.sapienseg.pipeline;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import dev.sapienseg.output.OutputKind;

import dev.sapienseg.model.Normalization;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.OnnxGraphBuilder.Dim;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.classes.ClassStatistics.ClassRegion;
import dev.sapienseg.classes.GoliathClasses;

/** The whole pipeline on the deterministic palette model: a picture painted in class colours comes back as those classes. */
class SegmentationPipelineTest {

    static final Region[] REGIONS = {
            new Region(0, 0, 300, 200, 3), // Hair
            new Region(300, 0, 300, 400, 21), // Torso
            new Region(50, 250, 200, 500, 14), // Right_Hand
            new Region(350, 500, 150, 250, 2) // Face_Neck
    };
    static final int WIDTH = 600;
    static final int HEIGHT = 800;

    static SegmentationModel palette;
    static SegmentationPipeline pipeline;
    static byte[] picture;

    @BeforeAll
    static void load() throws Exception {
        palette = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
        pipeline = pipeline(palette);
        try (Mat painted = TestImages.paint(WIDTH, HEIGHT, REGIONS)) {
            picture = TestImages.png(painted);
        }
    }

    @AfterAll
    static void close() {
        palette.close();
    }

    static SegmentationPipeline pipeline(SegmentationModel model) {
        return Pipelines.of(new ImageDecoder(new ImageLimits(50_000_000, 50_000_000)), model,
                Normalization.LITE, 2, Duration.ofSeconds(30));
    }

    /** Every pixel farther than {@code margin} from a region edge has the painted class. */
    static void assertRegions(byte[] classMap, int width, int height, int margin, Region... regions) {
        int checked = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (nearEdge(x, y, margin, width, height, regions)) {
                    continue;
                }
                int expected = TestImages.classAt(x, y, regions);
                assertEquals(expected, classMap[y * width + x], "class at " + x + "," + y);
                checked++;
            }
        }
        assertTrue(checked > width * height * 0.8, "checked " + checked);
    }

    private static boolean nearEdge(int x, int y, int margin, int width, int height, Region... regions) {
        int cls = TestImages.classAt(x, y, regions);
        for (int dy = -margin; dy <= margin; dy++) {
            for (int dx = -margin; dx <= margin; dx++) {
                int nx = Math.min(width - 1, Math.max(0, x + dx));
                int ny = Math.min(height - 1, Math.max(0, y + dy));
                if ((Math.abs(dx) == margin || Math.abs(dy) == margin) && TestImages.classAt(nx, ny, regions) != cls) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void paintedRegionsComeBackAsTheirClasses() {
        Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY));
        assertEquals(WIDTH, s.width());
        assertEquals(HEIGHT, s.height());
        assertRegions(s.classMap(), WIDTH, HEIGHT, 3, REGIONS);

        // Painted classes dominate; blended colours along edges may land on other palette colours, but only there.
        List<Integer> major = s.statistics().regions().stream().filter(r -> r.share() > 0.01).map(ClassRegion::id).toList();
        assertEquals(List.of(0, 2, 3, 14, 21), major);
        double minor = s.statistics().regions().stream().filter(r -> r.share() <= 0.01).mapToDouble(ClassRegion::share).sum();
        assertTrue(minor < 0.01, "edge classes cover " + minor);
        ClassRegion torso = s.statistics().regions().stream().filter(r -> r.id() == 21).findFirst().orElseThrow();
        assertEquals("Torso", torso.name());
        assertEquals(300, torso.x(), 2);
        assertEquals(0, torso.y());
        assertEquals(300, torso.width(), 3);
        assertEquals(400, torso.height(), 3);
        assertEquals(300 * 400, torso.pixels(), 300 * 400 * 0.02);
        long background = s.statistics().regions().get(0).pixels();
        assertEquals(1.0 - (double) background / (WIDTH * HEIGHT), s.statistics().foregroundShare(), 1e-9);
    }

    @Test
    void classPngIsAPalettePngOfTheClassIds() throws Exception {
        Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG));
        assertNull(s.output(OutputKind.OVERLAY));
        assertEquals(List.of(OutputKind.CLASS_PNG), List.copyOf(s.outputs().keySet()));
        BufferedImage mask = ImageIO.read(new ByteArrayInputStream(s.output(OutputKind.CLASS_PNG).data()));
        assertEquals(BufferedImage.TYPE_BYTE_INDEXED, mask.getType());
        assertEquals(WIDTH, mask.getWidth());
        assertEquals(HEIGHT, mask.getHeight());
        IndexColorModel colours = (IndexColorModel) mask.getColorModel();
        for (int c = 0; c < GoliathClasses.COUNT; c++) {
            int[] rgb = GoliathClasses.rgb(c);
            assertEquals(rgb[0], colours.getRed(c));
            assertEquals(rgb[1], colours.getGreen(c));
            assertEquals(rgb[2], colours.getBlue(c));
        }
        byte[] ids = new byte[WIDTH * HEIGHT];
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                ids[y * WIDTH + x] = (byte) mask.getRaster().getSample(x, y, 0);
            }
        }
        assertArrayEquals(s.classMap(), ids);
    }

    @Test
    void overlayIsTheSapiensSideBySide() throws Exception {
        Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.OVERLAY));
        assertNull(s.output(OutputKind.CLASS_PNG));
        assertEquals("image/png", s.output(OutputKind.OVERLAY).contentType());
        BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(s.output(OutputKind.OVERLAY).data()));
        assertEquals(2 * WIDTH, overlay.getWidth());
        assertEquals(HEIGHT, overlay.getHeight());
        try (Mat painted = TestImages.paint(WIDTH, HEIGHT, REGIONS)) {
            for (int[] p : new int[][] {{10, 10}, {400, 100}, {100, 400}, {420, 600}, {590, 790}, {0, 799}}) {
                int x = p[0];
                int y = p[1];
                int[] original = TestImages.rgbAt(painted, x, y);
                int[] palette = GoliathClasses.rgb(s.classMap()[y * WIDTH + x]);
                int left = overlay.getRGB(x, y);
                int right = overlay.getRGB(WIDTH + x, y);
                for (int c = 0; c < 3; c++) {
                    int shift = 16 - 8 * c;
                    assertEquals(original[c], (left >> shift) & 0xFF);
                    assertEquals((original[c] + palette[c]) / 2, (right >> shift) & 0xFF, "overlay at " + x + "," + y);
                }
            }
        }
    }

    @Test
    void jpegInputGivesAJpegOverlayAndTheSameClasses() {
        try (Mat painted = TestImages.paint(WIDTH, HEIGHT, REGIONS)) {
            Segmentation s = Pipelines.segment(pipeline, TestImages.jpeg(painted), EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY));
            assertEquals("image/jpeg", s.output(OutputKind.OVERLAY).contentType());
            assertRegions(s.classMap(), WIDTH, HEIGHT, 8, REGIONS);
        }
    }

    @Test
    void fixedBatchModelGivesTheSameResult(@TempDir Path dir) throws Exception {
        Path fixed = ModelFiles.write(dir, "fixed.onnx", FixtureModels.palette(Dim.of(3), 28, true, true, "fixed"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(fixed))) {
            Segmentation batched = Pipelines.segment(pipeline(model), picture, EnumSet.of(OutputKind.CLASS_PNG));
            assertArrayEquals(Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG)).classMap(), batched.classMap());
        }
    }

    @Test
    void oneChannelModelsUseTheSigmoidThreshold(@TempDir Path dir) throws Exception {
        // The one-channel fixture's logit is the normalised red channel: (R - 123.5) / 58.5.
        // sigmoid(logit) > 0.3  <=>  logit > -0.847  <=>  R > 73.9. Red (255) is foreground, dark grey (50) is not.
        Path binary = ModelFiles.write(dir, "binary.onnx", FixtureModels.palette(Dim.dynamic("b"), 1, true, true, "fg"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(binary));
                Mat painted = TestImages.paint(200, 100, new Region(100, 0, 100, 100, 14))) {
            Segmentation s = Pipelines.segment(pipeline(model), TestImages.png(painted), EnumSet.of(OutputKind.CLASS_PNG));
            assertEquals(List.of("Background", "Foreground"), s.classNames());
            assertEquals(0, s.classMap()[50 * 200 + 20]);
            assertEquals(1, s.classMap()[50 * 200 + 180]);
            assertEquals(0.5, s.statistics().foregroundShare(), 0.02);
        }
    }

    @Test
    void tinyVitRunsEndToEnd() throws Exception {
        try (SegmentationModel vit = SegmentationModel.load(ModelSettings.cpu(FixtureModels.TINY_VIT));
                Mat gradient = TestImages.gradient(333, 517)) {
            Segmentation s = Pipelines.segment(pipeline(vit), TestImages.jpeg(gradient), EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY));
            assertEquals(333, s.width());
            assertEquals(517, s.height());
            for (byte id : s.classMap()) {
                assertTrue(id >= 0 && id < 28);
            }
            assertNotNull(s.output(OutputKind.CLASS_PNG));
            assertTrue(s.timings().inference() > 0);
        }
    }

    @Test
    void refusesWhenFullAndTimesOutWhenNoResultComesInTime() {
        try (SegmentationPipeline full = Pipelines.of(pipeline.decoder(), palette, Normalization.LITE, 0,
                Duration.ofSeconds(1))) {
            assertEquals(FailureReason.OVERLOADED,
                    assertThrows(SegmentationException.class, () -> Pipelines.segment(full, picture, EnumSet.of(OutputKind.CLASS_PNG))).reason());
        }
        // A batch of 2 that waits an hour for its second picture: the first one's deadline passes first.
        try (SegmentationPipeline waiting = Pipelines.of(pipeline.decoder(), List.of(palette), Normalization.LITE,
                2, new InferenceBatcher.Settings(2, Duration.ofHours(1)), Duration.ofMillis(200))) {
            long start = System.nanoTime();
            assertEquals(FailureReason.QUEUE_TIMEOUT,
                    assertThrows(SegmentationException.class, () -> Pipelines.segment(waiting, picture, EnumSet.of(OutputKind.CLASS_PNG))).reason());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
        }
    }
}
