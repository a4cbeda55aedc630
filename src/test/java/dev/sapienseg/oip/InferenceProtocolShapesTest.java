package dev.sapienseg.oip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.sapienseg.fixtures.CocoMasks;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The shape outputs as protocol tensors: {@code rle} and {@code polygons} are the per-picture JSON documents and
 * {@code instances} the PNG, as {@code BYTES} elements, one per picture, exact against the {@code class_map} of the
 * same response; none of them is sent unless asked for.
 */
@QuarkusTest
class InferenceProtocolShapesTest {

    @Test
    void shapesAreBytesTensorsThatAgreeWithTheClassMap() throws Exception {
        Readiness.awaitReady();
        int w = 240;
        int h = 160;
        byte[] first;
        byte[] second;
        try (Mat a = TestImages.paint(w, h, new Region(10, 10, 60, 120, 21), new Region(150, 20, 50, 100, 3));
                Mat b = TestImages.paint(w, h, new Region(40, 40, 100, 80, 2))) {
            first = TestImages.png(a);
            second = TestImages.png(b);
        }
        Map<String, Boolean> outputs = new LinkedHashMap<>();
        outputs.put("class_map", true);
        outputs.put("rle", false);
        outputs.put("polygons", true);
        outputs.put("instances", true);
        OipClient.Parsed parsed = OipClient.parse(OipClient.postBinary(List.of(first, second), outputs).then()
                .statusCode(200).extract().response());
        byte[] classMaps = parsed.binary().get("class_map");
        List<byte[]> polygons = parsed.bytesElements("polygons");
        List<byte[]> instances = parsed.bytesElements("instances");
        JsonNode rle = parsed.output("rle").get("data");
        assertEquals(List.of(2), OipClient.JSON.convertValue(parsed.output("rle").get("shape"), List.class));
        for (int n = 0; n < 2; n++) {
            byte[] classes = java.util.Arrays.copyOfRange(classMaps, n * w * h, (n + 1) * w * h);
            JsonNode rleDocument = OipClient.JSON.readTree(Base64.getDecoder().decode(rle.get(n).asText()));
            assertEquals(w, rleDocument.get("width").asInt());
            CocoMasks.assertExact(rleDocument.get("classes"), classes, w, h);
            CocoMasks.assertExact(OipClient.JSON.readTree(polygons.get(n)).get("classes"), classes, w, h);
            byte[] persons = TestImages.values(instances.get(n));
            for (int i = 0; i < classes.length; i++) {
                assertEquals(classes[i] != 0, persons[i] != 0, "picture " + n + " pixel " + i);
            }
        }
        JsonNode statistics = OipClient.JSON.readTree(parsed.json().get("parameters").get("statistics").asText());
        assertEquals(2, statistics.get(0).get("persons").size(), "two people apart in the first picture");
        assertNull(statistics.get(0).get("persons").get(0).get("rle"), "the masks are the instances tensor");

        OipClient.Parsed defaults = OipClient.parse(OipClient.postJson(OipClient.jsonRequest(List.of(first), null))
                .then().statusCode(200).extract().response());
        for (String shape : List.of("rle", "polygons", "instances")) {
            assertNull(defaults.output(shape), shape + " is sent only when asked for");
        }
    }

    @Test
    void theAlphaIsATensorAndEdgesAParameter() throws Exception {
        Readiness.awaitReady();
        byte[] picture;
        try (Mat a = TestImages.paint(160, 120, new Region(20, 20, 80, 60, 3))) {
            picture = TestImages.png(a);
        }
        Map<String, Boolean> outputs = new LinkedHashMap<>();
        outputs.put("alpha", true);
        outputs.put("cutout", true);
        com.fasterxml.jackson.databind.node.ObjectNode request = OipClient.jsonRequest(List.of(picture), outputs);
        request.putObject("parameters").put("select", "hair").put("edges", "soft");
        OipClient.Parsed parsed = OipClient.parse(OipClient.postJson(request).then().statusCode(200).extract()
                .response());
        byte[] alpha = TestImages.values(parsed.bytesElements("alpha").get(0));
        java.awt.image.Raster cutout = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                parsed.bytesElements("cutout").get(0))).getRaster();
        for (int i = 0; i < alpha.length; i++) {
            assertEquals(alpha[i] & 0xFF, cutout.getSample(i % 160, i / 160, 3), "pixel " + i);
        }
        request.with("parameters").put("edges", "blurry");
        InferenceProtocolTest.assertProtocolError(OipClient.postJson(request), 400, "bad-tensor",
                "parameters.edges must be hard or soft");
    }
}
