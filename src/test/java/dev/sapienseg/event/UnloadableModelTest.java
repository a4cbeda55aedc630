package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** A corrupt model file: not ready with the reason, alive, and requests get a retryable 503. */
@QuarkusTest
@TestProfile(UnloadableModelTest.Profile.class)
class UnloadableModelTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sapiens.model.path", "src/test/resources/not-a-model.onnx");
        }
    }

    @Test
    void notReadyWithTheReasonAndRequestsAreRetryable() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                .until(() -> given().get("/q/health/ready").body().asString().contains("failed"));
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'sapiens-model' }.data.phase", equalTo("failed"))
                .body("checks.find { it.name == 'sapiens-model' }.data.reason", containsString("not an ONNX model"));
        given().get("/q/health/started").then().statusCode(503);
        given().get("/q/health/live").then().statusCode(200);

        CloudEvents.binary(CloudEvents.IMAGE, "1", CloudEvents.SOURCE).contentType("image/jpeg").body(new byte[] {1, 2, 3})
                .post("/").then().statusCode(503)
                .header("Retry-After", "2")
                .header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo("not-ready"))
                .body("retryable", equalTo(true))
                .body("message", containsString("not an ONNX model"));

        // The Open Inference Protocol answers from the same checks, in its own shapes.
        given().get("/v2/health/ready").then().statusCode(400).body("ready", equalTo(false));
        given().get("/v2/health/live").then().statusCode(200).body("live", equalTo(true));
        given().get("/v2/models/not-a-model/ready").then().statusCode(400).body("ready", equalTo(false));
        given().contentType("application/json").body("{}").post("/v2/models/not-a-model/infer").then().statusCode(503)
                .header("Retry-After", "2").body("error", containsString("not-ready: "))
                .body("error", containsString("not an ONNX model"));
    }
}
