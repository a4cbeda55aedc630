package dev.sapienseg.model;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.pipeline.Postprocessor;
import dev.sapienseg.pipeline.Preprocessor;
import dev.sapienseg.pipeline.TensorBuffers;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;

/**
 * Some fp16 exports take and return float16 tensors (converted with keep_io_types off). They load; the batch buffers
 * hold halves, written and read on the callers' threads, so the model's thread converts nothing, and the rest of the
 * pipeline sees float32 logits: same classes as the float32 model.
 */
class HalfPrecisionIoTest {

    @TempDir
    Path dir;

    @Test
    void float16InputAndLogitsGiveTheFloat32ModelsLogitsToHalfPrecision() throws Exception {
        Path half = ModelFiles.write(dir, "fp16-io.onnx", FixtureModels.paletteHalfIo());
        try (SegmentationModel fp16 = SegmentationModel.load(ModelSettings.cpu(half));
                SegmentationModel fp32 = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            assertEquals(fp32.contract().classes(), fp16.contract().classes());
            int batch = 2;
            FloatBuffer input = SegmentationModel.directFloats((long) batch * fp32.contract().inputFloatsPerImage());
            Random random = new Random(7);
            for (int i = 0; i < input.capacity(); i++) {
                input.put(i, (float) random.nextGaussian());
            }
            FloatBuffer expected = SegmentationModel.directFloats((long) batch * fp32.contract().outputFloatsPerImage());
            FloatBuffer actual = SegmentationModel.directFloats((long) batch * fp32.contract().outputFloatsPerImage());
            fp32.run(input, expected, batch);
            fp16.run(input, actual, batch);
            double worst = 0;
            for (int i = 0; i < expected.capacity(); i++) {
                double tolerance = 0.01 + 0.002 * Math.abs(expected.get(i)); // input and logits rounded to 11 bits
                worst = Math.max(worst, Math.abs(expected.get(i) - actual.get(i)) / tolerance);
            }
            assertTrue(worst <= 1, "worst deviation " + worst + " of the half-precision tolerance");
        }
    }

    @Test
    void theFloat16ModelSegmentsLikeTheFloat32Model() throws Exception {
        Path half = ModelFiles.write(dir, "fp16-io.onnx", FixtureModels.paletteHalfIo());
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_PNG);
        byte[] expected;
        byte[] actual;
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
                SegmentationPipeline pipeline = pipeline(model)) {
            expected = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG)).classMap();
        }
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(half));
                SegmentationPipeline pipeline = pipeline(model)) {
            Segmentation s = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG));
            actual = s.classMap();
        }
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            differ += expected[i] != actual[i] ? 1 : 0;
        }
        // The figure is painted in palette colours: only anti-aliased edge pixels sit near a tie.
        assertTrue(differ <= expected.length / 1000, differ + " of " + expected.length + " pixels differ");
    }

    @Test
    void halvesAreWrittenAndReadOnTheCallersThreadWithTheSameResultAsConvertingAtTheModel() throws Exception {
        Path half = ModelFiles.write(dir, "fp16-io.onnx", FixtureModels.paletteHalfIo());
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(half));
                DecodedImage image = new ImageDecoder(new ImageLimits(50_000_000, 50_000_000))
                        .decode(Files.readAllBytes(SampleImages.FIGURE_PNG))) {
            ModelContract contract = model.contract();
            Preprocessor preprocessor = new Preprocessor(contract.inputHeight(), contract.inputWidth(), Normalization.LITE);
            Postprocessor postprocessor = new Postprocessor(contract);
            // The model's thread takes halves as they are and refuses floats: it has nothing left to convert.
            assertThrows(IllegalArgumentException.class, () -> model.runAsIs(
                    SegmentationModel.directFloats(contract.inputFloatsPerImage()),
                    SegmentationModel.directShorts(contract.outputFloatsPerImage()), 1));
            TensorBuffers buffers = new TensorBuffers(model, 2);
            buffers.write(preprocessor, image, 1);
            buffers.run(model, 2);
            Postprocessor.ClassMap onCallersThread = buffers.read(postprocessor, 1, image.width(), image.height());
            // The conversion at the model's boundary (SegmentationModel.run with floats), as every run did before.
            FloatBuffer input = SegmentationModel.directFloats(2L * contract.inputFloatsPerImage());
            preprocessor.write(image, input, contract.inputFloatsPerImage());
            FloatBuffer output = SegmentationModel.directFloats(2L * contract.outputFloatsPerImage());
            model.run(input, output, 2);
            Postprocessor.ClassMap atTheModel = postprocessor.apply(output, 1, image.width(), image.height());
            assertArrayEquals(atTheModel.ids(), onCallersThread.ids());
            for (int i = 0; i < contract.outputFloatsPerImage(); i++) {
                int at = contract.outputFloatsPerImage() + i;
                assertEquals(output.get(at), buffers.output().get(at), "logit " + i + ": the same half widened the same way");
            }
        }
    }

    private static SegmentationPipeline pipeline(SegmentationModel model) {
        return Pipelines.of(new ImageDecoder(new ImageLimits(50_000_000, 50_000_000)),
                java.util.List.of(model), Normalization.LITE, 2, new InferenceBatcher.Settings(1, Duration.ZERO),
                Duration.ofSeconds(30));
    }
}
