package dev.sapienseg.metrics;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.matchesPattern;

import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;

/** /q/metrics in Prometheus format after a good and a bad request. */
@QuarkusTest
class MetricsTest {

    @Test
    void stagesBatchesOutcomesAndProviderAreExported() throws Exception {
        Readiness.awaitReady();
        byte[] picture = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        for (byte[] body : new byte[][] {picture, "not a picture".getBytes()}) {
            given().header("ce-specversion", "1.0").header("ce-id", UUID.randomUUID().toString())
                    .header("ce-source", "/tests").header("ce-type", "sapiens.segment").contentType("image/jpeg")
                    .body(body).post("/");
        }
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String stage : new String[] {"decode", "preprocess", "queue", "inference", "postprocess", "encode"}) {
            org.junit.jupiter.api.Assertions.assertTrue(
                    metrics.contains("sapiens_stage_duration_seconds_bucket{stage=\"" + stage + "\""), stage);
        }
        given().get("/q/metrics").then()
                .body(containsString("sapiens_batch_size_count"))
                .body(containsString("sapiens_images_processed_total{path=\"event\"}"))
                .body(containsString("sapiens_requests_total{outcome=\"ok\",reason=\"none\"}"))
                .body(containsString("sapiens_requests_total{outcome=\"failed\",reason=\"unsupported-format\"}"))
                .body(containsString("sapiens_execution_provider{provider=\"cpu\"} 1.0"))
                .body(containsString("sapiens_model_ready 1.0"))
                .body(containsString("sapiens_requests_in_flight"))
                .body(matchesPattern("(?s).*sapiens_model_load_seconds [0-9.]+.*"));
    }
}
