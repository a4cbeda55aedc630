package dev.sapienseg.pipeline;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import dev.sapienseg.output.OutputKind;

import dev.sapienseg.model.Normalization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class RunWatchdogTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RunWatchdog watchdog = new RunWatchdog(2, Duration.ofSeconds(60), now::get);

    @Test
    void aRunPastItsLimitMakesThePodNotLive() {
        watchdog.started(1);
        now.addAndGet(Duration.ofSeconds(59).toNanos());
        assertNull(watchdog.problem());
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        String problem = watchdog.problem();
        assertNotNull(problem);
        assertTrue(problem.contains("session 1") && problem.contains("61 s"), problem);
        watchdog.finished(1, null);
        assertNull(watchdog.problem(), "a run that ends clears it");
    }

    @Test
    void consecutiveFailuresMarkTheSessionBrokenAndASuccessClearsThem() {
        for (int i = 0; i < RunWatchdog.BROKEN_AFTER_FAILURES - 1; i++) {
            watchdog.started(0);
            watchdog.finished(0, new IllegalStateException("CUDA failure 700: illegal memory access"));
        }
        assertNull(watchdog.problem());
        watchdog.started(0);
        watchdog.finished(0, new IllegalStateException("CUDA failure 700: illegal memory access"));
        assertTrue(watchdog.problem().contains("3 model runs in a row failed"), watchdog.problem());
        watchdog.started(0);
        watchdog.finished(0, null);
        assertNull(watchdog.problem());
    }

    @Test
    void theLimitFollowsTheWarmUpRunWithAFloor() {
        assertEquals(Duration.ofSeconds(60), RunWatchdog.stallLimitFor(40));
        assertEquals(Duration.ofSeconds(86 * 20), RunWatchdog.stallLimitFor(86_000));
    }

    /** Wired into the pipeline: while a real model run lasts longer than the limit, the watchdog says so. */
    @Test
    void aRealRunPastTheLimitIsSeenWhileItLasts() throws Exception {
        try (dev.sapienseg.model.SegmentationModel model = dev.sapienseg.model.SegmentationModel.load(
                dev.sapienseg.model.ModelSettings.cpu(dev.sapienseg.fixtures.FixtureModels.TINY_VIT));
                SegmentationPipeline pipeline = Pipelines.of(new dev.sapienseg.image.ImageDecoder(
                        new dev.sapienseg.image.ImageLimits(50_000_000, 50_000_000)), model, Normalization.LITE, 2,
                        Duration.ofSeconds(30));
                org.bytedeco.opencv.opencv_core.Mat picture = dev.sapienseg.fixtures.TestImages.gradient(64, 48)) {
            byte[] png = dev.sapienseg.fixtures.TestImages.png(picture);
            assertNull(pipeline.watchdog().problem());
            pipeline.watchdog().stallAfter(Duration.ofNanos(1));
            java.util.concurrent.CompletableFuture<Segmentation> done = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> Pipelines.segment(pipeline, png, EnumSet.of(OutputKind.CLASS_PNG)));
            String seen = null;
            while (seen == null && !done.isDone()) {
                seen = pipeline.watchdog().problem();
            }
            done.get();
            assertNotNull(seen, "the run was never seen past its 1 ns limit");
            assertTrue(seen.contains("has been running for"), seen);
            assertNull(pipeline.watchdog().problem(), "once the run is over the pod is live again");
        }
    }

    @Test
    void theStallLimitFollowsTheMeasuredRuns() {
        RunTimes runs = new RunTimes(Duration.ZERO); // no warm-up
        RunWatchdog derived = new RunWatchdog(1, runs, now::get);
        assertEquals(RunWatchdog.UNMEASURED_STALL, derived.stallLimit(), "a slow first run must not restart the pod");
        runs.record(Duration.ofSeconds(2).toNanos());
        assertEquals(Duration.ofSeconds(60), derived.stallLimit());
        runs.record(Duration.ofSeconds(20).toNanos());
        runs.record(Duration.ofSeconds(20).toNanos());
        assertEquals(Duration.ofSeconds(400), derived.stallLimit(), "20 x the median run");
        derived.stallAfter(Duration.ofSeconds(90));
        assertEquals(Duration.ofSeconds(90), derived.stallLimit(), "sapiens.limits.max-run-time fixes it");
    }
}
