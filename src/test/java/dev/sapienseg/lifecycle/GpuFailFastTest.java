package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import dev.sapienseg.config.StandaloneConfig;
import dev.sapienseg.model.GpuFailure;
import dev.sapienseg.model.GpuUnavailableException;

/**
 * A GPU pod whose GPU cannot be used, under {@code cuda-fallback=fail}: the server's exit is asked for at once with the
 * cause (the exit itself is GpuFailFastIT's), and readiness says the same; under {@code cpu} it serves on the CPU and
 * nothing exits. This machine's ONNX Runtime has no GPU provider, which is the cause seen here.
 */
class GpuFailFastTest {

    private static SegmentationService service(String provider, String fallback,
            AtomicReference<GpuUnavailableException> exits) {
        Map<String, String> settings = new HashMap<>(Map.of("sapiens.model.path", "models/demo/sapiens-palette-demo.onnx",
                "sapiens.model.cache-dir", System.getProperty("java.io.tmpdir"),
                "sapiens.execution.provider", provider, "sapiens.execution.cuda-fallback", fallback));
        return new SegmentationService(StandaloneConfig.sapiens(StandaloneConfig.load(settings)), () -> {
            throw new IllegalStateException("no S3 client in this test");
        }, exits::set);
    }

    @Test
    void failMeansExitWithTheCause() {
        for (String provider : new String[] {"cuda", "tensorrt"}) {
            AtomicReference<GpuUnavailableException> exits = new AtomicReference<>();
            SegmentationService service = service(provider, "fail", exits);
            service.load();
            GpuUnavailableException exit = exits.get();
            assertEquals(GpuFailure.NOT_IN_BUILD, exit.failure(), provider);
            assertTrue(exit.getMessage().startsWith(provider + " requested but unavailable: this build's ONNX Runtime"
                    + " has no GPU provider"), exit.getMessage());
            ModelState.Failed failed = assertInstanceOf(ModelState.Failed.class, service.state());
            assertEquals(exit.getMessage(), failed.reason(), "readiness says what the exit says");
            service.close();
        }
    }

    @Test
    void cpuMeansServeOnTheCpuAndNeverExit() {
        AtomicReference<GpuUnavailableException> exits = new AtomicReference<>();
        SegmentationService service = service("cuda", "cpu", exits);
        service.load();
        assertInstanceOf(ModelState.Ready.class, service.state());
        assertEquals("cpu", service.providerInUse());
        assertNull(exits.get());
        service.close();
    }
}
