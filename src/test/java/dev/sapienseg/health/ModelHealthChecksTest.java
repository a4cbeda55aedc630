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
        return service(modelPath, Map.of());
    }

    private static SegmentationService service(String modelPath, Map<String, String> more) {
        // The application's own configuration (application.properties), as the batch command reads it.
        Map<String, String> settings = new java.util.HashMap<>(more);
        settings.put("sapiens.model.path", modelPath);
        settings.put("sapiens.model.cache-dir", System.getProperty("java.io.tmpdir"));
        SmallRyeConfig config = StandaloneConfig.load(settings);
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

    @Test
    void readinessListsTheBatchSizesRunsTakeAndThoseWarmed() {
        SegmentationService service = service("models/demo/sapiens-palette-demo.onnx", Map.of(
                "sapiens.batching.max-batch-size", "8", "sapiens.batching.batch-sizes", "4,1,2"));
        service.load();
        Map<String, Object> ready = data(new ModelReadinessCheck(service).call());
        assertEquals("1,2,4,8", ready.get("batch.sizes"), "sorted, with the largest batch");
        assertEquals("1", ready.get("warmup.batches"), "a CPU session warms the first size only");
        service.close();

        SegmentationService wrong = service("models/demo/sapiens-palette-demo.onnx", Map.of(
                "sapiens.batching.max-batch-size", "8", "sapiens.batching.batch-sizes", "1,16"));
        wrong.load();
        Map<String, Object> failed = data(new ModelReadinessCheck(wrong).call());
        assertEquals("failed", failed.get("phase"));
        assertTrue(String.valueOf(failed.get("reason")).startsWith("sapiens.batching.batch-sizes lists 16, outside 1..8"),
                String.valueOf(failed.get("reason")));
    }
}
