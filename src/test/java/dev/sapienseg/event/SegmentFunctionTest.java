package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URL;
import java.util.Base64;
import java.util.UUID;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.fixtures.Readiness;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

/**
 * The function over real HTTP with real CloudEvents, on the bundled palette demo model (deterministic, so the
 * reply's classes are known). {@link SegmentFunctionIT} reruns these against the packaged application.
 */
@QuarkusTest
class SegmentFunctionTest {

    static final Region[] REGIONS = {
            new Region(0, 0, 160, 120, 3), new Region(160, 0, 160, 240, 21), new Region(20, 130, 100, 100, 14)};
    static byte[] png;
    static byte[] jpeg;

    @TestHTTPResource("/")
    URL url;

    private final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void pictures() {
        try (Mat painted = TestImages.paint(320, 240, REGIONS)) {
            png = TestImages.png(painted);
            jpeg = TestImages.jpeg(painted);
        }
    }

    @BeforeEach
    void waitUntilReady() {
        Readiness.awaitReady();
    }

    static RequestSpecification binaryEvent(String contentType, byte[] body) {
        return CloudEvents.image().contentType(contentType).body(body);
    }

    @Test
    void healthReportsTheLoadedModel() throws Exception {
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'sapiens-model' }.data.phase", equalTo("ready"))
                .body("checks.find { it.name == 'sapiens-model' }.data.model", equalTo("sapiens-palette-demo"))
                .body("checks.find { it.name == 'sapiens-model' }.data.'model.demo'", equalTo(true))
                .body("checks.find { it.name == 'sapiens-model' }.data.provider", equalTo("cpu"))
                .body("checks.find { it.name == 'sapiens-model' }.data.classes", equalTo(28))
                .body("checks.find { it.name == 'sapiens-model' }.data.'model.sha256'",
                        equalTo(dev.sapienseg.metrics.MetricsTest.demoSha256()));
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/started").then().statusCode(200);
    }

    @Test
    void binaryModeImageGetsAResultEvent() throws Exception {
        Response response = binaryEvent("image/png", png).header("ce-subject", "photos/cat.png").post("/");
        response.then().statusCode(200)
                .header("ce-type", "sapiens.segment.result")
                .header("ce-source", "/sapiens/segment")
                .header("ce-specversion", "1.0")
                .header("ce-subject", "photos/cat.png")
                .header("ce-id", notNullValue())
                .contentType(startsWith("application/json"))
                .body("width", equalTo(320))
                .body("height", equalTo(240))
                .body("format", equalTo("png"))
                .body("model.name", equalTo("sapiens-palette-demo"))
                .body("model.demo", equalTo(true))
                .body("model.executionProvider", equalTo("cpu"))
                .body("model.normalization", equalTo("lite"))
                .body("model.sha256", equalTo(dev.sapienseg.metrics.MetricsTest.demoSha256()))
                .body("model.revision", nullValue())
                .body("classes.name", hasItems("Background", "Hair", "Torso", "Right_Hand"))
                .body("timings.inference", greaterThan(0f))
                .body("classPng.contentType", equalTo("image/png"))
                .body("overlay", nullValue());
        JsonNode reply = json.readTree(response.asByteArray());
        JsonNode torso = null;
        for (JsonNode c : reply.get("classes")) {
            if (c.get("id").asInt() == 21) {
                torso = c;
            }
        }
        assertNotNull(torso);
        assertEquals(160, torso.get("bbox").get("x").asInt(), 2);
        assertEquals(0, torso.get("bbox").get("y").asInt());
        assertEquals(0.5, torso.get("share").asDouble(), 0.02);

        BufferedImage mask = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(reply.get("classPng").get("data").asText())));
        assertEquals(320, mask.getWidth());
        assertEquals(3, mask.getRaster().getSample(40, 40, 0)); // Hair
        assertEquals(21, mask.getRaster().getSample(240, 120, 0)); // Torso
        assertEquals(14, mask.getRaster().getSample(70, 180, 0)); // Right_Hand
        assertEquals(0, mask.getRaster().getSample(140, 200, 0)); // Background
    }

    /**
     * Knative's AWS S3 IntegrationSource as it posts: the object's bytes, labelled application/json, with fixed
     * attributes (eventing-integrations' aws-s3-source) and Camel's headers, which are not CloudEvent attributes.
     */
    @Test
    void knativeAwsS3SourceDeliversThePictureItself() {
        CloudEvents.binary("dev.knative.eventing.aws-s3", "9CC70D09569020C-0000000000000001", "dev.knative.eventing.aws-s3-source")
                .header("ce-subject", "aws-s3-source").header("ce-time", "2026-06-24T10:15:30.123Z")
                .header("CamelAwsS3Key", "inbox/cat.png").header("CamelAwsS3BucketName", "inbox")
                .contentType("application/json").body(png).post("/")
                .then().statusCode(200)
                .header("ce-type", "sapiens.segment.result")
                .header("ce-subject", "aws-s3-source")
                .body("requestId", equalTo("9CC70D09569020C-0000000000000001"))
                .body("width", equalTo(320))
                .body("format", equalTo("png"));
        // Not a picture (an object that is really JSON): a permanent failure, not a crash or a retry.
        Response text = CloudEvents.binary("dev.knative.eventing.aws-s3", "aws-s3-2", "dev.knative.eventing.aws-s3-source")
                .contentType("application/json").body("{\"hello\":1}").post("/");
        assertFailure(text, 415, "unsupported-format");
    }

    @Test
    void overlayOnRequest() throws Exception {
        Response response = binaryEvent("image/jpeg", jpeg).header("ce-sapiensoutputs", "overlay").post("/");
        response.then().statusCode(200).body("classPng", nullValue()).body("overlay.contentType", equalTo("image/jpeg"));
        BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(
                Base64.getDecoder().decode(json.readTree(response.asByteArray()).get("overlay").get("data").asText())));
        assertEquals(640, overlay.getWidth());
        assertEquals(240, overlay.getHeight());

        binaryEvent("image/jpeg", jpeg).header("ce-sapiensoutputs", "class-png,overlay").post("/").then().statusCode(200)
                .body("classPng.data", notNullValue()).body("overlay.data", notNullValue());
        binaryEvent("image/jpeg", jpeg).header("ce-sapiensoutputs", "none").post("/").then().statusCode(200)
                .body("classPng", nullValue()).body("overlay", nullValue()).body("classes.size()", greaterThan(2));
    }

    @Test
    void structuredModeWithTheCloudEventsSdk() throws Exception {
        CloudEvent event = CloudEventBuilder.v1().withId(UUID.randomUUID().toString()).withSource(URI.create("/tests"))
                .withType("sapiens.segment").withSubject("sdk.png").withDataContentType("image/png").withData(png).build();
        CloudEventsClient.Reply reply = new CloudEventsClient(url).sendStructured(event);
        assertEquals(200, reply.status(), new String(reply.body()));
        assertTrue(reply.header("content-type").startsWith("application/cloudevents+json"));
        assertEquals("sapiens.segment.result", reply.event().getType());
        assertEquals("sdk.png", reply.event().getSubject());
        JsonNode data = json.readTree(reply.event().getData().toBytes());
        assertEquals(320, data.get("width").asInt());
        assertEquals(event.getId(), data.get("requestId").asText());

        CloudEventsClient.Reply binary = new CloudEventsClient(url).sendBinary(event);
        assertEquals(200, binary.status());
        assertEquals("sapiens.segment.result", binary.event().getType());
    }

    // --- bad input: a precise reason, a status Knative does not retry, a failure event, a healthy process ---

    private void assertFailure(Response response, int status, String code) {
        response.then().statusCode(status)
                .header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo(code))
                .body("status", equalTo(status))
                .body("retryable", equalTo(false))
                .body("message", notNullValue());
    }

    @Test
    void emptyBody() {
        assertFailure(binaryEvent("image/jpeg", new byte[0]).post("/"), 400, "empty-image");
    }

    @Test
    void notAnImage() {
        Response r = binaryEvent("image/jpeg", "definitely not a picture".getBytes()).post("/");
        assertFailure(r, 415, "unsupported-format");
        r.then().body("message", containsString("JPEG, PNG, WebP, BMP or TIFF"));
    }

    @Test
    void unsupportedFormat() {
        assertFailure(binaryEvent("image/gif", "GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000".getBytes()).post("/"),
                415, "unsupported-format");
    }

    @Test
    void truncatedJpeg() {
        byte[] truncated = TestImages.truncate(jpeg, jpeg.length * 2 / 3);
        Response r = binaryEvent("image/jpeg", truncated).post("/");
        assertFailure(r, 422, "corrupt-image");
        r.then().body("message", containsString("truncated"));
    }

    @Test
    void pixelBombIsRefusedFromItsHeader() {
        Response r = binaryEvent("image/png", TestImages.pngHeaderDeclaring(60000, 60000)).post("/");
        assertFailure(r, 413, "too-many-pixels");
        r.then().body("message", containsString("60000x60000"));
    }

    @Test
    void wrongEventType() {
        Response r = CloudEvents.binary("com.example.other", "1", CloudEvents.SOURCE).contentType("image/png").body(png).post("/");
        assertFailure(r, 400, "unsupported-event-type");
    }

    @Test
    void unknownOutput() {
        assertFailure(binaryEvent("image/png", png).header("ce-sapiensoutputs", "class-png,depth").post("/"), 400, "bad-option");
    }

    /** Pixels of a PNG in the reply, read with Java's own decoder. */
    private static java.awt.image.Raster picture(JsonNode reply, String field) throws Exception {
        return ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(reply.get(field).get("data").asText())))
                .getRaster();
    }

    /**
     * A selection chosen by the event comes back as a mask and a cutout at the picture's size; both agree with the
     * class map of the same reply to the pixel, and the cutout keeps exactly the selected pixels of the original.
     */
    @Test
    void aSelectionComesBackAsAMaskAndACutout() throws Exception {
        for (boolean invert : new boolean[] {false, true}) {
            Response response = binaryEvent("image/png", png)
                    .header("ce-sapiensoutputs", "class-png,selection-mask,cutout")
                    .header("ce-sapiensselect", "Head + right_hand").header("ce-sapiensinvert", String.valueOf(invert))
                    .post("/");
            response.then().statusCode(200)
                    .body("selection.expression", equalTo("head+right_hand"))
                    .body("selection.invert", equalTo(invert))
                    .body("selectionMask.contentType", equalTo("image/png"))
                    .body("cutout.contentType", equalTo("image/png"));
            JsonNode reply = json.readTree(response.asByteArray());
            java.util.Set<Integer> selected = new java.util.HashSet<>();
            reply.get("selection").get("classIds").forEach(id -> selected.add(id.asInt()));
            assertEquals(invert, !selected.contains(3), "Hair is in the head: " + selected);
            assertEquals(invert, !selected.contains(14), "Right_Hand: " + selected);
            java.awt.image.Raster classes = picture(reply, "classPng");
            java.awt.image.Raster mask = picture(reply, "selectionMask");
            java.awt.image.Raster cutout = picture(reply, "cutout");
            java.awt.image.Raster original = ImageIO.read(new ByteArrayInputStream(png)).getRaster();
            long count = 0;
            for (int y = 0; y < 240; y++) {
                for (int x = 0; x < 320; x++) {
                    boolean in = selected.contains(classes.getSample(x, y, 0));
                    assertEquals(in ? 255 : 0, mask.getSample(x, y, 0), x + "," + y);
                    assertEquals(in ? 255 : 0, cutout.getSample(x, y, 3), x + "," + y);
                    for (int band = 0; band < 3; band++) {
                        assertEquals(in ? original.getSample(x, y, band) : 0, cutout.getSample(x, y, band), x + "," + y);
                    }
                    count += in ? 1 : 0;
                }
            }
            assertEquals(count, reply.get("selection").get("pixels").asLong());
            assertTrue(count > 0 && count < 320 * 240, "both parts present: " + count);
        }
    }

    @Test
    void aSelectionAloneAddsTheMaskAndBadSelectionsAreNamed() throws Exception {
        binaryEvent("image/png", png).header("ce-sapiensselect", "hair").post("/").then().statusCode(200)
                .body("classPng.data", notNullValue()).body("selectionMask.data", notNullValue())
                .body("cutout", nullValue()).body("selection.classes", equalTo(java.util.List.of("Hair")));
        // Without a selection the selective outputs show the person (sapiens.selection.classes).
        binaryEvent("image/png", png).header("ce-sapiensoutputs", "cutout").post("/").then().statusCode(200)
                .body("selection.expression", equalTo("person")).body("cutout.data", notNullValue())
                .body("selection.classIds.size()", equalTo(27));
        Response r = binaryEvent("image/png", png).header("ce-sapiensselect", "face+halo").post("/");
        assertFailure(r, 400, "bad-option");
        r.then().body("message", containsString("'halo'")).body("message", containsString("upper-body"));
        r = binaryEvent("image/png", png).header("ce-sapiensselect", "eyeglass").post("/");
        assertFailure(r, 400, "bad-option"); // Sapiens2's class: not in the v1 model served here
        assertFailure(binaryEvent("image/png", png).header("ce-sapiensinvert", "maybe").post("/"), 400, "bad-option");
    }

    @Test
    void maskMeansOnlyTheForegroundMask() {
        // The palette PNG of class ids was once asked for as "mask"; a caller still doing so is told its new name
        // rather than silently given something else.
        Response r = binaryEvent("image/png", png).header("ce-sapiensoutputs", "mask").post("/");
        assertFailure(r, 400, "bad-option");
        r.then().body("message", containsString("class-png"));
        // The .npy outputs are written by storage and the batch command, never base64 in a reply.
        r = binaryEvent("image/png", png).header("ce-sapiensoutputs", "mask-npy").post("/");
        assertFailure(r, 400, "bad-option");
        r.then().body("message", containsString("sapiens.storage.outputs"));
        binaryEvent("image/png", png).header("ce-sapiensoutputs", " Class-PNG , summary").post("/").then().statusCode(200)
                .body("classPng.data", notNullValue()).body("overlay", nullValue());
    }

    @Test
    void malformedCloudEvents() {
        // Structured requests get a structured failure event back.
        given().contentType("application/cloudevents+json").body("{not json").post("/")
                .then().statusCode(400).contentType(startsWith("application/cloudevents+json"))
                .body("type", equalTo("sapiens.segment.failed")).body("data.error", equalTo("malformed-event"));
        given().contentType("application/cloudevents+json").body("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/t\"}")
                .post("/").then().statusCode(400).body("data.error", equalTo("malformed-event"));
        given().contentType("application/cloudevents+json")
                .body("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/t\",\"type\":\"sapiens.segment\",\"data_base64\":\"@@@\"}")
                .post("/").then().statusCode(400).body("data.error", equalTo("malformed-event"));
        given().contentType("application/cloudevents+json")
                .body("{\"specversion\":\"1.0\",\"id\":\"7\",\"source\":\"/t\",\"subject\":\"s\",\"type\":\"sapiens.segment\"}")
                .post("/").then().statusCode(400).body("data.error", equalTo("empty-image"))
                .body("subject", equalTo("s")).body("data.requestId", equalTo("7"));
        // An image posted without any CloudEvent attributes.
        given().contentType("image/png").body(png).post("/").then().statusCode(400).body("error", equalTo("malformed-event"));
        // Binary mode without a source.
        given().header("ce-specversion", "1.0").header("ce-id", "1").header("ce-type", "sapiens.segment")
                .contentType("image/png").body(png).post("/").then().statusCode(400).body("error", equalTo("malformed-event"));
    }

    @Test
    void chunkedBodiesAreAccepted() throws Exception {
        // A hop that streams (no Content-Length) must not lose the event: it is read, bounded by the body limit.
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) url.openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setChunkedStreamingMode(1024);
        CloudEvents.headers(CloudEvents.IMAGE, "chunked", CloudEvents.SOURCE).forEach(c::setRequestProperty);
        c.setRequestProperty("Content-Type", "image/png");
        try (java.io.OutputStream out = c.getOutputStream()) {
            out.write(png);
        }
        assertEquals(200, c.getResponseCode());
        assertEquals("sapiens.segment.result", c.getHeaderField("ce-type"));
        JsonNode data = json.readTree(c.getInputStream());
        assertEquals(320, data.get("width").asInt());
    }

    @Test
    void failuresCarryAnIdAndNoInternals() {
        Response r = binaryEvent("image/png", "definitely not a picture".getBytes()).post("/");
        String id = r.then().statusCode(415).extract().path("errorId");
        assertNotNull(id);
        assertEquals(id, r.header("Sapiens-Error-Id"));
    }

    @Test
    void badInputLeavesThePodHealthy() {
        for (int i = 0; i < 5; i++) {
            binaryEvent("image/jpeg", TestImages.truncate(jpeg, 100 + i * 50)).post("/").then().statusCode(422);
        }
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
        binaryEvent("image/png", png).post("/").then().statusCode(200);
    }
}
