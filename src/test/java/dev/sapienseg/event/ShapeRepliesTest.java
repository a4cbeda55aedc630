package dev.sapienseg.event;

import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.Base64;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.CloudEvents;
import dev.sapienseg.fixtures.CocoMasks;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The shape outputs in a CloudEvent reply: each class with its RLE and polygons, exact against the class PNG of the
 * same reply; the persons with their masks, exact against the instances picture; {@code coco} refused with where it
 * is made.
 */
@QuarkusTest
class ShapeRepliesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyClassAndPersonReadsBackAsItsPixels() throws Exception {
        Readiness.awaitReady();
        Response response = CloudEvents.image().header("ce-sapiensoutputs", "class-png, rle, polygons, instances")
                .contentType("image/jpeg").body(Files.readAllBytes(SampleImages.FIGURE_JPG)).post("/");
        assertEquals(200, response.statusCode(), response.asString());
        JsonNode reply = JSON.readTree(response.asByteArray());
        int w = reply.get("width").asInt();
        int h = reply.get("height").asInt();
        byte[] classes = TestImages.values(Base64.getDecoder().decode(reply.get("classPng").get("data").asText()));
        CocoMasks.assertExact(reply.get("classes"), classes, w, h);

        byte[] persons = TestImages.values(Base64.getDecoder().decode(reply.get("instances").get("data").asText()));
        assertEquals("image/png", reply.get("instances").get("contentType").asText());
        long foreground = 0;
        for (int i = 0; i < classes.length; i++) {
            assertEquals(classes[i] != 0, persons[i] != 0, "pixel " + i);
            foreground += classes[i] != 0 ? 1 : 0;
        }
        long people = 0;
        for (JsonNode person : reply.get("persons")) {
            boolean[] mask = CocoMasks.decode(person.get("rle"));
            for (int i = 0; i < persons.length; i++) {
                assertEquals(persons[i] == person.get("id").asInt(), mask[i], "person " + person.get("id") + " " + i);
            }
            people += person.get("pixels").asLong();
        }
        assertTrue(reply.get("persons").size() >= 1);
        assertEquals(foreground, people);
        assertEquals(1, reply.get("persons").get(0).get("id").asInt());
        assertEquals(java.util.List.of(h, w), JSON.convertValue(reply.get("classes").get(0).get("rle").get("size"),
                java.util.List.class), "COCO's size is [height, width]");
    }

    @Test
    void cocoIsAFolderRunsDatasetNotAReply() {
        Readiness.awaitReady();
        CloudEvents.image().header("ce-sapiensoutputs", "class-png,coco").contentType("image/png")
                .body(TestImages.greyPng(8, 8, 0)).post("/").then().statusCode(400)
                .body("error", org.hamcrest.Matchers.equalTo("bad-option"))
                .body("message", containsString("the dataset of a folder run, written by the batch command"));
    }

    @Test
    void softEdgesMakeTheCutoutTakeTheAlphaAndTheSummarySaysSo() throws Exception {
        Readiness.awaitReady();
        Response response = CloudEvents.image().header("ce-sapiensoutputs", "alpha,cutout")
                .header("ce-sapiensselect", "hair").header("ce-sapiensedges", "Soft")
                .contentType("image/jpeg").body(Files.readAllBytes(SampleImages.FIGURE_JPG)).post("/");
        assertEquals(200, response.statusCode(), response.asString());
        JsonNode reply = JSON.readTree(response.asByteArray());
        assertEquals("soft", reply.get("selection").get("edges").asText());
        byte[] alpha = TestImages.values(Base64.getDecoder().decode(reply.get("alpha").get("data").asText()));
        java.awt.image.Raster cutout = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                Base64.getDecoder().decode(reply.get("cutout").get("data").asText()))).getRaster();
        int w = reply.get("width").asInt();
        for (int i = 0; i < alpha.length; i++) {
            assertEquals(alpha[i] & 0xFF, cutout.getSample(i % w, i / w, 3), "pixel " + i);
        }

        CloudEvents.image().header("ce-sapiensoutputs", "cutout").header("ce-sapiensedges", "feathered")
                .contentType("image/png").body(TestImages.greyPng(8, 8, 0)).post("/").then().statusCode(400)
                .body("message", containsString("sapiensedges: edges must be hard or soft, not 'feathered'"));
        CloudEvents.image().header("ce-sapiensoutputs", "logits-npy").contentType("image/png")
                .body(TestImages.greyPng(8, 8, 0)).post("/").then().statusCode(400)
                .body("message", containsString("output 'logits-npy' is not sent in replies"));
    }
}
