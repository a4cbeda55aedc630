package dev.sapienseg.pipeline;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import dev.sapienseg.output.OutputKind;

import dev.sapienseg.model.Normalization;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Tag;
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

/** Dynamic batching: every caller gets its own picture's result, whatever it was batched with. */
@Tag("timing")
class InferenceBatchingTest {

    static SegmentationModel palette;
    static ImageDecoder decoder = new ImageDecoder(new ImageLimits(50_000_000, 50_000_000));
    static List<byte[]> pictures = new ArrayList<>();
    static List<byte[]> expected = new ArrayList<>();

    @BeforeAll
    static void picturesOfDifferentSizesAndTheirUnbatchedResults() throws Exception {
        palette = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
        try (SegmentationPipeline unbatched = Pipelines.of(decoder, palette, Normalization.LITE, 1,
                Duration.ofMinutes(1))) {
            for (int i = 0; i < 12; i++) {
                int w = 80 + 37 * i;
                int h = 300 - 13 * i;
                try (Mat m = TestImages.paint(w, h, new Region(i * 3, 0, w / 2, h / 2, 1 + i), new Region(w / 3, h / 3, w / 2, h / 2, 27 - i))) {
                    byte[] png = TestImages.png(m);
                    pictures.add(png);
                    expected.add(Pipelines.segment(unbatched, png, EnumSet.of(OutputKind.CLASS_PNG)).classMap());
                }
            }
        }
    }

    @AfterAll
    static void close() {
        palette.close();
    }

    /** Sends every picture at once from its own thread; returns the results in picture order. */
    private static List<Segmentation> concurrently(SegmentationPipeline pipeline) throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(pictures.size());
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Segmentation>> futures = new ArrayList<>();
        for (byte[] picture : pictures) {
            futures.add(callers.submit(() -> {
                start.await();
                return Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG));
            }));
        }
        start.countDown();
        List<Segmentation> results = new ArrayList<>();
        for (Future<Segmentation> f : futures) {
            results.add(f.get(60, TimeUnit.SECONDS));
        }
        callers.shutdown();
        return results;
    }

    @Test
    void eachCallerGetsItsOwnResultFromSharedBatches() throws Exception {
        try (SegmentationPipeline batched = Pipelines.of(decoder, List.of(palette), Normalization.LITE, 16,
                new InferenceBatcher.Settings(4, Duration.ofMillis(200)), Duration.ofMinutes(1))) {
            assertEquals(4, batched.batchCapacity());
            List<Segmentation> results = concurrently(batched);
            int largest = 0;
            for (int i = 0; i < pictures.size(); i++) {
                assertArrayEquals(expected.get(i), results.get(i).classMap(), "picture " + i);
                largest = Math.max(largest, results.get(i).batchSize());
                assertTrue(results.get(i).batchSize() <= 4);
            }
            assertTrue(largest > 1, "12 concurrent callers must have shared a batch");
        }
    }

    @Test
    void twoSessionsShareTheWork() throws Exception {
        try (SegmentationModel second = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
                SegmentationPipeline batched = Pipelines.of(decoder, List.of(palette, second),
                        Normalization.LITE, 16, new InferenceBatcher.Settings(3, Duration.ofMillis(50)), Duration.ofMinutes(1))) {
            List<Segmentation> results = concurrently(batched);
            for (int i = 0; i < pictures.size(); i++) {
                assertArrayEquals(expected.get(i), results.get(i).classMap(), "picture " + i);
            }
        }
    }

    @Test
    void aFixedModelBatchIsTheBatch(@TempDir Path dir) throws Exception {
        Path fixed3 = ModelFiles.write(dir, "fixed3.onnx", FixtureModels.palette(Dim.of(3), 28, true, true, "fixed3"));
        Path fixed1 = ModelFiles.write(dir, "fixed1.onnx", FixtureModels.palette(Dim.of(1), 28, true, true, "fixed1"));
        for (Path file : List.of(fixed3, fixed1)) {
            try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(file));
                    SegmentationPipeline batched = Pipelines.of(decoder, List.of(model), Normalization.LITE,
                            16, new InferenceBatcher.Settings(8, Duration.ofMillis(100)), Duration.ofMinutes(1))) {
                int capacity = model.contract().fixedBatch();
                assertEquals(capacity, batched.batchCapacity(), "a fixed batch overrides max-batch-size");
                List<Segmentation> results = concurrently(batched);
                for (int i = 0; i < pictures.size(); i++) {
                    assertArrayEquals(expected.get(i), results.get(i).classMap(), file + " picture " + i);
                    assertTrue(results.get(i).batchSize() <= capacity);
                }
            }
        }
    }

    @Test
    void overflowIsRefusedAtOnceAndDeadlinesExpire() throws Exception {
        // Batches of 4 that wait up to an hour: two callers sit in a batch that never fills, until their deadline.
        try (SegmentationPipeline pipeline = Pipelines.of(decoder, List.of(palette), Normalization.LITE, 2,
                new InferenceBatcher.Settings(4, Duration.ofHours(1)), Duration.ofMillis(800))) {
            ExecutorService callers = Executors.newFixedThreadPool(2);
            List<Future<FailureReason>> waiting = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                byte[] picture = pictures.get(i);
                waiting.add(callers.submit(() -> assertThrows(SegmentationException.class,
                        () -> Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG))).reason()));
            }
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (pipeline.inFlight() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            SegmentationException refused = assertThrows(SegmentationException.class,
                    () -> Pipelines.segment(pipeline, pictures.get(2), EnumSet.of(OutputKind.CLASS_PNG)));
            assertEquals(FailureReason.OVERLOADED, refused.reason());
            for (Future<FailureReason> f : waiting) {
                assertEquals(FailureReason.QUEUE_TIMEOUT, f.get(10, TimeUnit.SECONDS));
            }
            callers.shutdown();

            // The abandoned slots still hold their inputs; two more callers fill the batch, it runs, they succeed.
            ExecutorService more = Executors.newFixedThreadPool(2);
            List<Future<Segmentation>> after = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            for (int i = 3; i < 5; i++) {
                byte[] picture = pictures.get(i);
                after.add(more.submit(() -> {
                    go.await();
                    return Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG));
                }));
            }
            go.countDown();
            assertArrayEquals(expected.get(3), after.get(0).get(10, TimeUnit.SECONDS).classMap());
            assertArrayEquals(expected.get(4), after.get(1).get(10, TimeUnit.SECONDS).classMap());
            more.shutdown();
        }
    }
}
