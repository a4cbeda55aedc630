package dev.sapienseg.event;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.LargeImages;
import dev.sapienseg.fixtures.Readiness;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Structured-mode events at and just over their limits, which are coherent with the body limit and the image limit
 * (3 MB body, room for the base64 of 2,310,144 bytes; pictures up to 2 MB), and the storage webhook's own limit.
 */
@QuarkusTest
@TestProfile(StructuredLimitsTest.Profile.class)
class StructuredLimitsTest {

    static final long IMAGE_LIMIT = 2 * 1024 * 1024;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.http.limits.max-body-size", "3M", "sapiens.limits.max-image-bytes", "2M",
                    "sapiens.events.default-outputs", "none");
        }
    }

    @TestHTTPResource("/")
    URL url;

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
    }

    private CloudEventsClient.Reply structured(byte[] picture) {
        CloudEvent event = CloudEventBuilder.v1().withId(UUID.randomUUID().toString()).withSource(URI.create("/tests"))
                .withType("sapiens.segment").withDataContentType("image/png").withData(picture).build();
        return new CloudEventsClient(url).sendStructured(event);
    }

    @Test
    void aPictureJustUnderTheImageLimitIsSegmentedInStructuredMode() throws Exception {
        byte[] png = LargeImages.pngOfAbout(IMAGE_LIMIT - 40_000, 1);
        assertTrue(png.length <= IMAGE_LIMIT && png.length > IMAGE_LIMIT - 80_000, "size " + png.length);
        CloudEventsClient.Reply reply = structured(png);
        assertEquals(200, reply.status(), new String(reply.body()));
        JsonNode data = new ObjectMapper().readTree(reply.event().getData().toBytes());
        assertTrue(data.get("width").asInt() > 800);
    }

    @Test
    void oneByteOverTheImageLimitIs413() throws Exception {
        byte[] png = LargeImages.pngOfAbout(IMAGE_LIMIT - 40_000, 2);
        byte[] over = Arrays.copyOf(png, (int) IMAGE_LIMIT + 1); // trailing bytes after IEND
        CloudEventsClient.Reply reply = structured(over);
        assertEquals(413, reply.status(), new String(reply.body()));
        JsonNode data = new ObjectMapper().readTree(reply.event().getData().toBytes());
        assertEquals("image-too-large", data.get("error").asText());
        assertTrue(data.get("message").asText().contains("exceeds the limit of " + IMAGE_LIMIT + " bytes"));
    }

    @Test
    void aBodyOverTheLimitNamesTheStructuredLimit() {
        byte[] over = new byte[2_400_000]; // 3.2 MB as base64
        CloudEventsClient.Reply reply = structured(over);
        assertEquals(413, reply.status(), new String(reply.body()));
        String body = new String(reply.body());
        assertTrue(body.contains("max-body-size") && body.contains("pictures up to " + IMAGE_LIMIT + " bytes"), body);
    }

    @Test
    void theStorageWebhookHasItsOwnLimit() {
        // Under the 3 MB body limit, over the webhook's 1 MB: refused before the body is read.
        String padding = "x".repeat(1_500_000);
        given().contentType("application/json").body("{\"Records\": [], \"pad\": \"" + padding + "\"}")
                .post("/storage/notifications").then().statusCode(413)
                .body("error", equalTo("image-too-large")).body("message", containsString("webhook"));
    }
}
