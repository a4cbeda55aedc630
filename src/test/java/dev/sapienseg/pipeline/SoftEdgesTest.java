package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.nio.FloatBuffer;
import java.util.EnumSet;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.Npy;
import dev.sapienseg.fixtures.Pipelines;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.Edges;
import dev.sapienseg.output.OutputKind;

/**
 * The soft alpha and soft cutouts through the whole pipeline (the alpha's values against PyTorch are
 * {@code TorchParityTest}'s), and the raw logits, from which the class map can be made again.
 */
class SoftEdgesTest {

    private static final int W = 400;
    private static final int H = 300;
    /** Hair above a face, on background. */
    private static final Region[] HEAD = {new Region(100, 40, 200, 80, 3), new Region(120, 120, 160, 140, 2)};

    static SegmentationModel palette;
    static SegmentationPipeline pipeline;
    static byte[] picture;

    @BeforeAll
    static void load() throws Exception {
        palette = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
        pipeline = SegmentationPipelineTest.pipeline(palette);
        try (Mat painted = TestImages.paint(W, H, HEAD)) {
            picture = TestImages.png(painted);
        }
    }

    @AfterAll
    static void close() {
        palette.close();
    }

    @Test
    void aSoftCutoutTakesTheAlphaAndAHardOneTheClassMap() throws Exception {
        Segmentation soft = pipeline.segment(SegmentationRequest.of(picture, pipeline.planner().plan(
                EnumSet.of(OutputKind.ALPHA, OutputKind.CUTOUT), "hair", null, Edges.SOFT)));
        Raster alpha = read(soft.output(OutputKind.ALPHA).data());
        Raster cutout = read(soft.output(OutputKind.CUTOUT).data());
        int partial = 0;
        for (int i = 0; i < W * H; i++) {
            int a = alpha.getSample(i % W, i / W, 0);
            assertEquals(a, cutout.getSample(i % W, i / W, 3), "the soft cutout's alpha is the alpha, pixel " + i);
            if (a == 0) {
                assertEquals(0, cutout.getSample(i % W, i / W, 0) | cutout.getSample(i % W, i / W, 1)
                        | cutout.getSample(i % W, i / W, 2), "what is hidden is removed, pixel " + i);
            }
            partial += a > 0 && a < 255 ? 1 : 0;
        }
        // The demo model's logits are distances to the palette's colours: its softmax is never sure, so the alpha
        // stays inside (0, 255); it is highest in the hair and falls off in the face and the background.
        int hair = alpha.getSample(200, 80, 0);
        assertTrue(hair > 128 && hair > alpha.getSample(200, 200, 0) && hair > alpha.getSample(20, 280, 0),
                hair + " in the hair, " + alpha.getSample(200, 200, 0) + " in the face");
        assertTrue(partial > 0);
        assertEquals("soft", dev.sapienseg.report.SegmentationReport.summary("r", soft, palette,
                dev.sapienseg.model.Normalization.LITE).selection().edges());

        Segmentation hard = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CUTOUT), "hair");
        Raster hardCutout = read(hard.output(OutputKind.CUTOUT).data());
        for (int i = 0; i < W * H; i++) {
            assertEquals(hard.classMap()[i] == 3 ? 255 : 0, hardCutout.getSample(i % W, i / W, 3), "pixel " + i);
        }
    }

    @Test
    void theRawLogitsMakeTheSameClassMapAgain() throws Exception {
        Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.LOGITS_NPY));
        Npy.Floats logits = Npy.readFloats(s.output(OutputKind.LOGITS_NPY).content().get().readAllBytes());
        assertEquals("<f4", logits.descr());
        assertArrayEquals(new int[] {28, 512, 384}, logits.shape());
        assertArrayEquals(s.classMap(), UpsampleArgmax.classMap(new Logits(FloatBuffer.wrap(logits.values()), 0, 28,
                512, 384), H, W));
    }

    private static Raster read(byte[] png) throws Exception {
        return ImageIO.read(new ByteArrayInputStream(png)).getRaster();
    }
}
