package dev.sapienseg.oip;

import dev.sapienseg.fixtures.Profiles;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * The protocol under the same limits as the CloudEvents path: the body limit before reading (413), the per-request
 * picture cap, a full pod (429) and an expired deadline (503), both with Retry-After, in the protocol's error shape.
 */
@QuarkusTest
@TestProfile(InferenceProtocolLimitsTest.Profile.class)
@Tag("timing")
class InferenceProtocolLimitsTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // One request at a time, in batches of 2 that wait an hour for company: a lone picture's deadline passes.
            return Profiles.heldBatches(1, "1500ms", "sapiens.limits.max-image-bytes", "300K",
                    "quarkus.http.limits.max-body-size", "600K");
        }
    }

    @Test
    void limitsAndOverloadAnswerInTheProtocolsShape() throws Exception {
        Readiness.awaitReady();
        byte[] picture = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);

        InferenceProtocolTest.assertProtocolError(given().contentType("application/octet-stream")
                .header("Inference-Header-Content-Length", 10).body(new byte[700 * 1024]).post(OipClient.INFER), 413,
                "image-too-large");
        InferenceProtocolTest.assertProtocolError(OipClient.postJson(OipClient.jsonRequest(List.of(picture, picture),
                null)), 400, "bad-tensor", "at most 1");

        CompletableFuture<Response> first = CompletableFuture.supplyAsync(
                () -> OipClient.postBinary(List.of(picture), Map.of("class_map", true)));
        Thread.sleep(500); // admitted, waiting in its batch for a second picture
        Response refused = OipClient.postBinary(List.of(picture), Map.of("class_map", true));
        InferenceProtocolTest.assertProtocolError(refused, 429, "overloaded");
        refused.then().header("Retry-After", "2");
        Response late = first.get(30, TimeUnit.SECONDS);
        InferenceProtocolTest.assertProtocolError(late, 503, "queue-timeout");
        late.then().header("Retry-After", "2");

        given().get("/v2/health/ready").then().statusCode(200).body("ready", equalTo(true));
    }
}
