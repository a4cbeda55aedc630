package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
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

/**
 * A 16.6 MB PNG as {@code data_base64} (a 22 MB structured event) was refused as a malformed event: Jackson's default
 * limit of 20,000,000 characters per string applied before our own limits. With the default configuration
 * (50 MB pictures, 70 MB bodies) it is segmented.
 */
@QuarkusTest
class LargeStructuredEventTest {

    @TestHTTPResource("/")
    URL url;

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
    }

    @Test
    void aStructuredEventOverJacksonsDefaultStringLimitIsSegmented() throws Exception {
        byte[] png = LargeImages.pngOfAbout(16_600_000, 3);
        assertTrue(png.length > 16_000_000 && (png.length + 2) / 3 * 4 > 20_000_000, "size " + png.length);
        CloudEvent event = CloudEventBuilder.v1().withId(UUID.randomUUID().toString()).withSource(URI.create("/tests"))
                .withType("sapiens.segment").withDataContentType("image/png").withExtension("sapiensoutputs", "none")
                .withData(png).build();
        CloudEventsClient.Reply reply = new CloudEventsClient(url).sendStructured(event);
        assertEquals(200, reply.status(), new String(reply.body(), 0, Math.min(reply.body().length, 2000)));
        JsonNode data = new ObjectMapper().readTree(reply.event().getData().toBytes());
        assertEquals(data.get("width").asInt(), data.get("height").asInt());
        assertTrue(data.get("width").asInt() > 2300);
    }
}
