package dev.sapienseg.metrics;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;

/** /q/metrics in Prometheus format after a good and a bad request. */
@QuarkusTest
public class MetricsTest {

    @Test
    void stagesBatchesOutcomesAndProviderAreExported() throws Exception {
        Readiness.awaitReady();
        byte[] picture = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        for (byte[] body : new byte[][] {picture, "not a picture".getBytes()}) {
            CloudEvents.image().contentType("image/jpeg")
                    .body(body).post("/");
        }
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String stage : new String[] {"decode", "preprocess", "queue", "inference", "postprocess", "encode"}) {
            org.junit.jupiter.api.Assertions.assertTrue(metrics.contains(
                    "sapiens_stage_duration_seconds_bucket{model=\"" + MODEL + "\",stage=\"" + stage + "\""), stage);
        }
        String sha256 = demoSha256();
        given().get("/q/metrics").then()
                .body(containsString("sapiens_batch_size_count{model=\"" + MODEL + "\"}"))
                .body(containsString("sapiens_images_processed_total{model=\"" + MODEL + "\",path=\"event\"}"))
                .body(containsString("sapiens_requests_total{model=\"" + MODEL + "\",outcome=\"ok\",reason=\"none\"}"))
                .body(containsString("sapiens_requests_total{model=\"" + MODEL + "\",outcome=\"failed\",reason=\"unsupported-format\"}"))
                .body(containsString("sapiens_execution_provider{model=\"" + MODEL + "\",provider=\"cpu\"} 1.0"))
                .body(containsString("sapiens_model_ready{model=\"" + MODEL + "\"} 1.0"))
                .body(containsString("sapiens_model_info{model=\"" + MODEL + "\",provider=\"cpu\",sha256=\"" + sha256
                        + "\"} 1.0"))
                .body(containsString("sapiens_requests_in_flight{model=\"" + MODEL + "\"}"))
                .body(matchesPattern("(?s).*sapiens_model_load_seconds\\{model=\"" + MODEL + "\"} [0-9.]+.*"));
        // Every sample of every sapiens_* series names the model.
        List<String> unlabelled = metrics.lines().filter(l -> l.startsWith("sapiens_"))
                .filter(l -> !l.contains("model=\"" + MODEL + "\"")).toList();
        assertEquals(List.of(), unlabelled);
    }

    private static final String MODEL = "sapiens-palette-demo";

    /** The demo model file's SHA-256, computed here as the provisioner must have. */
    public static String demoSha256() throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(java.nio.file.Files.readAllBytes(dev.sapienseg.fixtures.FixtureModels.PALETTE_DEMO)));
    }
}
