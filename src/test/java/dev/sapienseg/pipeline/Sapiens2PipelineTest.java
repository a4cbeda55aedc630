package dev.sapienseg.pipeline;

import dev.sapienseg.fixtures.Pipelines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.deploy.ExportToolTest;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelFamily;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputKind;

/**
 * Sapiens2 served as its own code runs it: pre-processing equal to a reference written from Sapiens2's code with
 * OpenCV's Python binding (INTER_AREA when the width shrinks, INTER_CUBIC otherwise; ImageNet mean and std), and a
 * Sapiens2-shaped model (29 classes, logits at the input size) answered with the dome29 vocabulary.
 */
class Sapiens2PipelineTest {

    @TempDir
    static Path dir;
    static SegmentationModel model;
    static final ImageDecoder DECODER = new ImageDecoder(new ImageLimits(50_000_000, 50_000_000));

    @BeforeAll
    static void load() throws Exception {
        model = SegmentationModel.load(ModelSettings.cpu(ModelFiles.write(dir, "sapiens2-palette.onnx",
                FixtureModels.sapiens2Palette())));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theFamilyIsReadFromTheModel() {
        assertEquals(ModelFamily.SAPIENS2, model.contract().family());
        assertEquals(29, model.contract().classes());
        assertEquals(1024, model.contract().outputHeight(), "full-resolution logits");
    }

    @Test
    void preprocessingEqualsSapiens2sOwnForShrinkingAndEnlarging() throws Exception {
        // 1200 wide: INTER_AREA; 600 wide: INTER_CUBIC. Noisy content, so that every interpolation weight matters.
        for (int[] size : new int[][] {{1200, 900}, {600, 400}}) {
            Path picture = dir.resolve("noise-" + size[0] + ".png");
            Files.write(picture, noisePng(size[0], size[1], size[0]));
            Path reference = dir.resolve("reference-" + size[0] + ".npy");
            Process python = new ProcessBuilder(ExportToolTest.PYTHON, "src/test/python/sapiens2_reference.py",
                    "preprocess", picture.toString(), reference.toString()).redirectErrorStream(true).start();
            String log = new String(python.getInputStream().readAllBytes());
            assertTrue(python.waitFor(120, TimeUnit.SECONDS), log);
            assertEquals(0, python.exitValue(), log);
            ExportToolTest.Npy expected = ExportToolTest.Npy.read(reference);
            assertEquals(List.of(3L, 1024L, 768L), expected.shape());

            Preprocessor preprocessor = new Preprocessor(1024, 768, Normalization.IMAGENET, ModelFamily.Resize.AREA_OR_CUBIC);
            FloatBuffer ours = SegmentationModel.directFloats(3L * 1024 * 768);
            byte[] encoded = Files.readAllBytes(picture);
            try (DecodedImage image = DECODER.decode(encoded, DECODER.inspect(encoded))) {
                preprocessor.write(image, ours, 0);
            }
            int differ = 0;
            double max = 0;
            for (int i = 0; i < 3 * 1024 * 768; i++) {
                double d = Math.abs(ours.get(i) - expected.data().get(i));
                max = Math.max(max, d);
                differ += d > 0 ? 1 : 0;
            }
            assertEquals(0, differ, size[0] + "x" + size[1] + ": values that differ from Sapiens2's (max " + max + ")");
        }
    }

    @Test
    void aSapiens2ModelIsAnsweredInItsOwnClasses() {
        int[][] dome = Vocabulary.DOME_29.paletteRgb();
        Region[] regions = {
                new Region(0, 0, 400, 300, 4), // Hair in Sapiens2 ids
                new Region(100, 300, 200, 150, 3), // Face_Neck
                new Region(120, 320, 160, 40, 2), // Eyeglass: a class v1 does not have
                new Region(400, 0, 400, 600, 22)}; // Torso
        byte[] picture;
        try (Mat painted = TestImages.paint(800, 600, dome, regions)) {
            picture = TestImages.png(painted);
        }
        try (SegmentationPipeline pipeline = Pipelines.of(DECODER, List.of(model),
                Normalization.IMAGENET, 2, new InferenceBatcher.Settings(1, Duration.ZERO), Duration.ofSeconds(30),
                new MemoryBound(Long.MAX_VALUE / 4))) {
            assertEquals(Vocabulary.DOME_29.names(), pipeline.planner().vocabulary().names());
            Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY));
            for (Region r : regions) {
                int x = r.x() + r.width() / 2;
                int y = r.y() + r.height() / 2;
                assertEquals(r.classId(), s.classMap()[y * 800 + x], "class at the centre of region " + r);
            }
            assertTrue(s.statistics().regions().stream().anyMatch(c -> c.id() == 2 && c.name().equals("Eyeglass")),
                    s.statistics().regions().toString());

            // "face" in Sapiens2's ids takes the glasses; the mask follows the class map pixel for pixel.
            Segmentation face = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.SELECTION_MASK), "face");
            assertEquals(List.of(2, 3, 24, 25, 26, 27, 28), face.selection().classIds());
            try (Mat mask = org.bytedeco.opencv.global.opencv_imgcodecs.imdecode(
                    new Mat(face.output(OutputKind.SELECTION_MASK).data()),
                    org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_UNCHANGED)) {
                assertEquals(1, mask.channels());
                java.nio.ByteBuffer px = mask.data().capacity(800L * 600).asByteBuffer();
                for (int i = 0; i < 800 * 600; i++) {
                    assertEquals(face.selection().contains(face.classMap()[i]) ? (byte) 255 : 0, px.get(i), "pixel " + i);
                }
            }
        }
    }

    private static byte[] noisePng(int width, int height, long seed) throws Exception {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        Random random = new Random(seed);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int smooth = (x * 255 / width) << 16 | (y * 255 / height) << 8 | ((x + y) * 255 / (width + height));
                image.setRGB(x, y, random.nextInt(4) == 0 ? random.nextInt(1 << 24) : smooth);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }
}
