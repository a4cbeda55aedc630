package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.Normalization;

class BatchRunnerTest {

    @TempDir
    Path dir;

    /**
     * A batch whose buffers cannot be allocated (240 pictures of 9.4 MB of input exceed one direct buffer) made the first
     * claim throw: the decoded picture was never closed, the run's latch never counted down and the run waited for
     * ever. Every picture must end, as a failure with the reason, and the run must return.
     */
    @Test
    void aBatchThatCannotBeAllocatedFailsEveryPictureInsteadOfHanging() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        try (Mat picture = TestImages.gradient(64, 48)) {
            for (int i = 0; i < 3; i++) {
                Files.write(input.resolve("p" + i + ".png"), TestImages.png(picture));
            }
        }
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            BatchRunner runner = new BatchRunner(List.of(model), new BatchRunner.Settings(240, 2, false, Normalization.LITE),
                    new ImageDecoder(new ImageLimits(Long.MAX_VALUE, 100_000_000)), new BatchOutputs(dir.resolve("out")));
            BatchInputs.Found found = BatchInputs.collect(input, dir.resolve("out"));
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            Progress progress = new Progress(found.images().size(), new PrintStream(log, true), false);
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> runner.run(found.images(), progress));
            assertEquals(3, progress.failures().size(), log.toString());
            assertEquals(0, progress.segmentedCount());
            assertTrue(progress.failures().get(0).reason().contains("could not allocate the buffers of a batch of 240"),
                    progress.failures().toString());
        }
    }
}
