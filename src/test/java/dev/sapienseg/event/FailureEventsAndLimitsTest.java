package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        return CloudEvents.image().contentType("image/jpeg").body(body);
    }

    @Test
    void bodyOverTheHttpLimitIsRefusedBeforeItIsRead() {
        event(new byte[400 * 1024]).post("/").then().statusCode(200)
                .header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo("image-too-large"))
                .body("message", containsString("max-body-size"));
    }

    @Test
    void chunkedBodyOverTheHttpLimitIsRefusedWhileItIsRead() throws Exception {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL(
                io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + "/").openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setChunkedStreamingMode(8192);
        CloudEvents.headers(CloudEvents.IMAGE, "chunked-big", CloudEvents.SOURCE).forEach(c::setRequestProperty);
        c.setRequestProperty("Content-Type", "image/jpeg");
        int status;
        try (java.io.OutputStream out = c.getOutputStream()) {
            out.write(new byte[400 * 1024]);
        } catch (java.io.IOException e) {
            // the server may stop reading at the limit; the answer is still there to read
        }
        status = c.getResponseCode();
        assertEquals(200, status); // failure-reply=event: permanent failures are 200 + failure event
        assertEquals("sapiens.segment.failed", c.getHeaderField("ce-type"));
        String body = new String(c.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assertions.assertTrue(body.contains("image-too-large") && body.contains("max-body-size"), body);
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
