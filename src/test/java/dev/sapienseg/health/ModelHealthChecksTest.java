package dev.sapienseg.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.config.StandaloneConfig;
import io.smallrye.config.SmallRyeConfig;

/** Readiness, startup and liveness through the phases of loading, without booting Quarkus. */
class ModelHealthChecksTest {

    private static SegmentationService service(String modelPath) {
        // The application's own configuration (application.properties), as the batch command reads it.
        SmallRyeConfig config = StandaloneConfig.load(Map.of("sapiens.model.path", modelPath,
                "sapiens.model.cache-dir", System.getProperty("java.io.tmpdir")));
        return new SegmentationService(StandaloneConfig.sapiens(config), () -> {
            throw new IllegalStateException("no S3 client in this test");
        });
    }

    private static Map<String, Object> data(HealthCheckResponse response) {
        return response.getData().orElseThrow();
    }

    @Test
    void downWhileLoadingThenUpWhenReady() {
        SegmentationService service = service("models/demo/sapiens-palette-demo.onnx");
        HealthCheckResponse loading = new ModelReadinessCheck(service).call();
        assertEquals(HealthCheckResponse.Status.DOWN, loading.getStatus());
        assertEquals("loading", data(loading).get("phase"));
        assertEquals(HealthCheckResponse.Status.DOWN, new ModelStartupCheck(service).call().getStatus());
        assertEquals(HealthCheckResponse.Status.UP, new ProcessLivenessCheck(service).call().getStatus());
        SegmentationException early = assertThrows(SegmentationException.class, service::pipeline);
        assertEquals(FailureReason.NOT_READY, early.reason());
        assertTrue(early.getMessage().contains("still loading"));

        service.load();
        HealthCheckResponse ready = new ModelReadinessCheck(service).call();
        assertEquals(HealthCheckResponse.Status.UP, ready.getStatus());
        assertEquals("ready", data(ready).get("phase"));
        assertEquals("cpu", data(ready).get("provider"));
        assertEquals(HealthCheckResponse.Status.UP, new ModelStartupCheck(service).call().getStatus());
        service.close();
    }

    @Test
    void missingModelStaysDownWithTheReason() {
        SegmentationService service = service("/nonexistent/sapiens_1b.onnx");
        service.load();
        HealthCheckResponse failed = new ModelReadinessCheck(service).call();
        assertEquals(HealthCheckResponse.Status.DOWN, failed.getStatus());
        assertEquals("failed", data(failed).get("phase"));
        assertEquals("model file not found: /nonexistent/sapiens_1b.onnx", data(failed).get("reason"));
        assertEquals(HealthCheckResponse.Status.UP, new ProcessLivenessCheck(service).call().getStatus());
        SegmentationException e = assertThrows(SegmentationException.class, service::pipeline);
        assertEquals(FailureReason.NOT_READY, e.reason());
        assertTrue(e.getMessage().contains("model file not found"));
    }
}
