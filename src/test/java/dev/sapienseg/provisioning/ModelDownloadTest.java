package dev.sapienseg.provisioning;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.notNullValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelServer;
import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A pod whose model is at a URL: readiness is DOWN with the download's progress while a slow server trickles the file
 * in, requests meanwhile get a retryable 503, then the downloaded model serves, in its faster form.
 */
@QuarkusTest
@QuarkusTestResource(value = ModelDownloadTest.SlowModelServer.class, restrictToAnnotatedClass = true)
@Tag("timing")
class ModelDownloadTest {

    private static final String CHECK = "checks.find { it.name == 'sapiens-model' }.data";

    public static class SlowModelServer implements QuarkusTestResourceLifecycleManager {
        private ModelServer server;

        @Override
        public Map<String, String> start() {
            try {
                // ~206 KB in 6 KB pieces every 100 ms: about 3.5 s of download to observe.
                server = new ModelServer().file("/models/sapiens-tiny-vit.onnx", FixtureModels.tinyVit()).trickle(6_000, 100);
                Path cache = Files.createTempDirectory("sapiens-model-cache");
                return Map.of("sapiens.model.uri", server.url("/models/sapiens-tiny-vit.onnx"),
                        "sapiens.model.cache-dir", cache.toString(),
                        "sapiens.model.download.progress-interval", "500ms");
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void stop() {
            if (server != null) {
                server.close();
            }
        }
    }

    @Test
    void notReadyWhileDownloadingThenServesTheDownloadedModel() throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(
                () -> "downloading".equals(given().get("/q/health/ready").jsonPath().get(CHECK + ".phase")));
        given().get("/q/health/ready").then().statusCode(503)
                .body(CHECK + ".'model.source'", containsString("/models/sapiens-tiny-vit.onnx"));
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    Object bytes = given().get("/q/health/ready").jsonPath().get(CHECK + ".'download.bytes'");
                    return bytes != null && ((Number) bytes).longValue() > 0;
                });
        given().get("/q/health/ready").then().statusCode(503)
                .body(CHECK + ".'download.total'", equalTo(FixtureModels.tinyVit().length))
                .body(CHECK + ".'download.percent'", notNullValue());
        given().get("/q/health/started").then().statusCode(503);
        given().get("/q/health/live").then().statusCode(200);
        CloudEvents.binary(CloudEvents.IMAGE, "early", CloudEvents.SOURCE).contentType("image/png")
                .body(Files.readAllBytes(SampleImages.FIGURE_PNG))
                .post("/").then().statusCode(503)
                .header("Retry-After", notNullValue());

        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> given().get("/q/health/ready").statusCode() == 200);
        given().get("/q/health/ready").then()
                .body(CHECK + ".model", equalTo("sapiens-tiny-vit"))
                .body(CHECK + ".phase", equalTo("ready"))
                // Served in its faster form, written beside the download (FastFormsTest covers the cache).
                .body(CHECK + ".'model.fast-forms'", containsString("of sapiens-tiny-vit.onnx sha256 "));
        CloudEvents.binary(CloudEvents.IMAGE, "after", CloudEvents.SOURCE).contentType("image/png")
                .body(Files.readAllBytes(SampleImages.FIGURE_PNG))
                .post("/").then().statusCode(200)
                .header("ce-type", "sapiens.segment.result")
                .body("classes.size()", greaterThan(0));
    }
}
