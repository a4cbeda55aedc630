package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.sapienseg.config.StandaloneConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/** The model's state moves forward only, and a pod that began shutting down never becomes ready again. */
class ModelStateTest {

    private static SegmentationService service(String modelPath) {
        return new SegmentationService(StandaloneConfig.sapiens(StandaloneConfig.load(Map.of("sapiens.model.path",
                modelPath, "sapiens.model.cache-dir", System.getProperty("java.io.tmpdir")))), () -> {
                    throw new IllegalStateException("no S3 client in this test");
                });
    }

    @Test
    void loadingEndsReadyWithTheChoiceAndThePipeline() {
        SegmentationService service = service("models/demo/sapiens-palette-demo.onnx");
        assertInstanceOf(ModelState.Loading.class, service.state());
        service.load();
        ModelState.Ready ready = assertInstanceOf(ModelState.Ready.class, service.state());
        assertTrue(ready.choice().isPresent());
        assertEquals(ready.pipeline(), service.pipeline());
        service.close();
        ModelState.Stopping stopping = assertInstanceOf(ModelState.Stopping.class, service.state());
        assertTrue(stopping.released());
        assertNull(service.readyPipeline(), "released: nothing serves any more");
    }

    @Test
    void aModelThatLoadsAfterSigtermIsReleasedNotServed() {
        SegmentationService service = service("models/demo/sapiens-palette-demo.onnx");
        service.onShutdownDelay(null);
        service.load();
        assertEquals(ModelPhase.STOPPING, service.phase());
        assertNull(service.readyPipeline());
        SegmentationException e = assertThrows(SegmentationException.class, service::pipeline);
        assertEquals(FailureReason.NOT_READY, e.reason());
        assertTrue(e.getMessage().contains("shutting down"), e.getMessage());
    }

    @Test
    void aFailureKeepsItsReasonThroughShutdown() {
        SegmentationService service = service("/nonexistent/model.onnx");
        service.load();
        ModelState.Failed failed = assertInstanceOf(ModelState.Failed.class, service.state());
        service.close();
        assertEquals(failed, service.state().settled());
        assertNull(service.livenessProblem(), "a missing model is a readiness matter, not a broken process");
    }
}
