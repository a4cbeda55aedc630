package dev.sapienseg.event;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** Small byte limits, and permanent failures answered as 200 + failure event (sapiens.events.failure-reply=event). */
@QuarkusTest
@TestProfile(FailureEventsAndLimitsTest.Profile.class)
class FailureEventsAndLimitsTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.http.limits.max-body-size", "300K",
                    "sapiens.limits.max-image-bytes", "100K",
                    "sapiens.events.failure-reply", "event");
        }
    }

    @BeforeEach
    void waitUntilReady() {
        Readiness.awaitReady();
    }

    private static io.restassured.specification.RequestSpecification event(byte[] body) {
        return given().header("ce-specversion", "1.0").header("ce-id", UUID.randomUUID().toString())
                .header("ce-source", "/tests").header("ce-type", "sapiens.segment").contentType("image/jpeg").body(body);
    }

    @Test
    void bodyOverTheHttpLimitIsRefusedBeforeItIsRead() {
        event(new byte[400 * 1024]).post("/").then().statusCode(200)
                .header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo("image-too-large"))
                .body("message", containsString("max-body-size"));
    }

    @Test
    void imageOverTheByteLimitIsAFailureEvent() {
        byte[] big = new byte[150 * 1024];
        event(big).post("/").then().statusCode(200)
                .header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo("image-too-large"))
                .body("status", equalTo(413))
                .body("message", containsString("exceeds the limit of 102400 bytes"));
    }

    @Test
    void permanentFailuresAreEventsButRetryableOnesKeepTheirStatus() {
        event("nope".getBytes()).post("/").then().statusCode(200)
                .header("ce-type", "sapiens.segment.failed").body("error", equalTo("unsupported-format"));
    }
}
