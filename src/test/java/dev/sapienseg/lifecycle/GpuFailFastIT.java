package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.PackagedApp;

/**
 * The packaged server, configured as the GPU image is ({@code provider=cuda}, {@code cuda-fallback=fail}), on a
 * machine whose ONNX Runtime cannot use CUDA: it exits with status 3 within seconds, and its log names the cause,
 * instead of holding the GPU not-ready until the startup probe gives up.
 */
class GpuFailFastIT {

    @Test
    void aGpuPodThatCannotUseItsGpuExitsAtOnceSayingWhy() throws Exception {
        long start = System.nanoTime();
        try (PackagedApp app = PackagedApp.start(18097, "sapiens.execution.provider=cuda",
                "sapiens.execution.cuda-fallback=fail")) {
            int status = app.awaitExit(Duration.ofSeconds(60));
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            assertEquals(SegmentationService.GPU_UNAVAILABLE_EXIT, status, app.log());
            assertTrue(seconds < 60, "exited after " + seconds + " s");
            assertTrue(app.log().contains("exiting with status 3: cuda requested but unavailable: this build's ONNX"
                    + " Runtime has no GPU provider"), app.log());
        }
    }
}
