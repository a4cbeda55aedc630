package dev.sapienseg.pipeline;

import dev.sapienseg.fixtures.Pipelines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.SlowModels;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputKind;

/**
 * The deadlines with a model that is slow on purpose (about 1.5 s per run, calibrated on this machine): a queue
 * timeout shorter than one run no longer fails a request whose run has started, a request that waits behind a run is
 * refused with a Retry-After of about one run, and the measured run time replaces the warm-up's.
 */
@Tag("timing")
class SlowModelDeadlinesTest {

    static final Duration RUN = Duration.ofMillis(1500);

    @TempDir
    static Path dir;
    static SegmentationModel slow;
    static byte[] picture;

    @BeforeAll
    static void load() throws Exception {
        slow = SegmentationModel.load(ModelSettings.cpu(SlowModels.write(dir, RUN)));
        picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
    }

    @AfterAll
    static void close() {
        slow.close();
    }

    private static SegmentationPipeline pipeline(Optional<Duration> queueTimeout, int maxInFlight) {
        return Pipelines.of(new ImageDecoder(new ImageLimits(50_000_000, 50_000_000)), List.of(slow),
                Normalization.LITE, new InferenceBatcher.Settings(1, Duration.ZERO),
                new Deadlines.Settings(queueTimeout, 1, Duration.ofSeconds(300), maxInFlight, 1, 1, Duration.ZERO),
                new MemoryBound(Long.MAX_VALUE / 4));
    }

    @Test
    void theModelIsAsSlowAsAsked() {
        long warmUp = slow.warmUpMillis();
        assertTrue(warmUp > 700 && warmUp < 6000, "warm-up run " + warmUp + " ms, asked for about " + RUN.toMillis());
    }

    @Test
    void aRequestWhoseRunHasStartedIsNotToldToRetry() {
        // The queue timeout (300 ms) is far below one run: before, the caller got 503 while the work went on.
        try (SegmentationPipeline pipeline = pipeline(Optional.of(Duration.ofMillis(300)), 2)) {
            assertTrue(pipeline.deadlines().problems().get(0).contains("is shorter than one model run"),
                    pipeline.deadlines().problems().toString());
            long start = System.nanoTime();
            var result = Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG));
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(result.timings().inference() > 300, "ran for " + result.timings().inference() + " ms");
            assertTrue(elapsedMs > 300, "waited for the run: " + elapsedMs + " ms");
        }
    }

    @Test
    void aRequestQueuedBehindARunIsRefusedWithRetryAfterOfAboutOneRun() throws Exception {
        try (SegmentationPipeline pipeline = pipeline(Optional.of(Duration.ofMillis(300)), 2)) {
            CompletableFuture<?> first = CompletableFuture.runAsync(
                    () -> Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG)));
            awaitRunning(pipeline);
            SegmentationException refused = assertThrows(SegmentationException.class,
                    () -> Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG)));
            assertEquals(FailureReason.QUEUE_TIMEOUT, refused.reason());
            long runSeconds = (pipeline.deadlines().runs().median().toMillis() + 999) / 1000;
            assertEquals(runSeconds, refused.retryAfterSeconds(), "about one run, not the configured least (1 s)");
            assertTrue(refused.retryAfterSeconds() >= 1);
            assertTrue(refused.getMessage().contains("one run takes about"), refused.getMessage());
            first.get(30, TimeUnit.SECONDS); // the first completes
        }
    }

    @Test
    void aDerivedWaitServesEveryAdmittedRequest() throws Exception {
        // Three at once on one session: the third waits two runs. The derived wait (at least 30 s) covers them.
        try (SegmentationPipeline pipeline = pipeline(Optional.empty(), 3)) {
            assertTrue(pipeline.deadlines().derived());
            assertEquals(List.of(), pipeline.deadlines().problems());
            List<CompletableFuture<?>> all = List.of(
                    CompletableFuture.runAsync(() -> Pipelines.segment(pipeline, picture, EnumSet.noneOf(OutputKind.class))),
                    CompletableFuture.runAsync(() -> Pipelines.segment(pipeline, picture, EnumSet.noneOf(OutputKind.class))),
                    CompletableFuture.runAsync(() -> Pipelines.segment(pipeline, picture, EnumSet.noneOf(OutputKind.class))));
            for (CompletableFuture<?> request : all) {
                request.get(60, TimeUnit.SECONDS);
            }
            // The measured runs replace the warm-up's: the median is within the range of a real run now.
            long median = pipeline.deadlines().runs().median().toMillis();
            assertTrue(median > 500 && median < 10_000, "median run " + median + " ms");
            assertTrue(pipeline.watchdog().runs() >= 3);
        }
    }

    @Test
    void aRunPastTheStallLimitIsGivenUpAsAPodProblem() {
        try (SegmentationPipeline pipeline = pipeline(Optional.of(Duration.ofMillis(100)), 1)) {
            pipeline.watchdog().stallAfter(Duration.ofMillis(300)); // the run (1.5 s) counts as hung
            SegmentationException stalled = assertThrows(SegmentationException.class,
                    () -> Pipelines.segment(pipeline, picture, EnumSet.of(OutputKind.CLASS_PNG)));
            assertEquals(FailureReason.NOT_READY, stalled.reason(), stalled.getMessage());
            assertTrue(stalled.getMessage().contains("sapiens.limits.max-run-time"), stalled.getMessage());
        }
    }

    private static void awaitRunning(SegmentationPipeline pipeline) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (pipeline.watchdog().running() == 0 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
    }
}
