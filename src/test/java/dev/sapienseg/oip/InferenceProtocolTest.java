package dev.sapienseg.oip;

import dev.sapienseg.fixtures.CloudEvents;
import static dev.sapienseg.oip.OipClient.INFER;
import static dev.sapienseg.oip.OipClient.JSON;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The Open Inference Protocol over real HTTP, as a KServe or Triton client speaks it, on the bundled palette demo
 * model: every class map is checked against the CloudEvents path's answer for the same picture, pixel for pixel.
 * {@link InferenceProtocolIT} reruns these against the packaged application.
 */
@QuarkusTest
class InferenceProtocolTest {

    static final int W = 320;
    static final int H = 240;
    static byte[] png;
    static byte[] jpeg;
    static byte[] other;

    @BeforeAll
    static void pictures() {
        try (Mat painted = TestImages.paint(W, H, new Region(0, 0, 160, 120, 3), new Region(160, 0, 160, 240, 21),
                new Region(20, 130, 100, 100, 14));
                Mat second = TestImages.paint(W, H, new Region(40, 40, 200, 150, 2))) {
            png = TestImages.png(painted);
            jpeg = TestImages.jpeg(painted);
            other = TestImages.png(second);
        }
    }

    @BeforeEach
    void waitUntilReady() {
        Readiness.awaitReady();
    }

    /** The class map the CloudEvents function answers for a picture (indices of its class PNG). */
    static byte[] classMapByTheFunction(byte[] picture) throws Exception {
        Response reply = CloudEvents.image().header("ce-sapiensoutputs", "class-png")
                .contentType("application/octet-stream").body(picture).post("/");
        assertEquals(200, reply.statusCode(), reply.asString());
        return indices(Base64.getDecoder().decode(JSON.readTree(reply.asByteArray()).get("classPng").get("data").asText()));
    }

    static byte[] indices(byte[] palettePng) {
        return dev.sapienseg.fixtures.TestImages.values(palettePng);
    }

    static void assertProtocolError(Response response, int status, String code, String... fragments) {
        response.then().statusCode(status).contentType(startsWith("application/json"))
                .header("Sapiens-Error-Id", notNullValue()).body("error", startsWith(code + ": "));
        for (String fragment : fragments) {
            response.then().body("error", containsString(fragment));
        }
    }

    @Test
    void serverMetadataAndHealthAnswerAsTheProtocolSays() {
        given().get("/v2").then().statusCode(200).body("name", equalTo("sapiens-seg-function"))
                .body("version", notNullValue()).body("extensions", hasItem("binary_tensor_data"));
        given().get("/v2/health/live").then().statusCode(200).body("live", equalTo(true));
        given().get("/v2/health/ready").then().statusCode(200).body("ready", equalTo(true));
        given().get("/v2/models/sapiens-palette-demo/ready").then().statusCode(200).body("ready", equalTo(true));
        given().get("/v2/models/sapiens-palette-demo/versions/1/ready").then().statusCode(200);
    }

    @Test
    void modelMetadataListsTheRealInputsAndOutputs() {
        for (String path : List.of("/v2/models/sapiens-palette-demo", "/v2/models/sapiens-palette-demo/versions/1")) {
            given().get(path).then().statusCode(200)
                    .body("name", equalTo("sapiens-palette-demo")).body("versions", equalTo(List.of("1")))
                    .body("platform", equalTo("onnxruntime_onnx"))
                    .body("inputs.name", equalTo(List.of("image"))).body("inputs[0].datatype", equalTo("BYTES"))
                    .body("inputs[0].shape", equalTo(List.of(-1)))
                    .body("outputs.name", equalTo(List.of("class_map", "mask", "class_png", "overlay", "selection_mask",
                            "cutout", "alpha", "instances", "rle", "polygons")))
                    .body("outputs.datatype", equalTo(List.of("UINT8", "BOOL", "BYTES", "BYTES", "BYTES", "BYTES",
                            "BYTES", "BYTES", "BYTES", "BYTES")))
                    .body("outputs[0].shape", equalTo(List.of(-1, -1, -1)))
                    .body("parameters.classes", equalTo(28))
                    .body("parameters.model_output", equalTo("logits [B, 28, 512, 384]"))
                    .body("parameters.class_names", startsWith("Background,Apparel,Face_Neck,Hair"));
        }
        assertProtocolError(given().get("/v2/models/sapiens-2b"), 404, "unknown-model", "sapiens-palette-demo");
        assertProtocolError(given().get("/v2/models/sapiens-palette-demo/versions/7"), 404, "unknown-model", "version");
        assertProtocolError(given().contentType("application/json").body("{}").post("/v2/models/other/infer"), 404,
                "unknown-model");
    }

    @Test
    void jsonInferenceAgreesWithTheCloudEventsPath() throws Exception {
        byte[] expected = classMapByTheFunction(png);
        Map<String, Boolean> outputs = new LinkedHashMap<>();
        outputs.put("class_map", false);
        outputs.put("mask", false);
        outputs.put("class_png", false);
        Response response = OipClient.postJson(OipClient.jsonRequest(List.of(png), outputs));
        response.then().statusCode(200).contentType(startsWith("application/json"))
                .header("Inference-Header-Content-Length", (String) null);
        OipClient.Parsed parsed = OipClient.parse(response);
        JsonNode json = parsed.json();
        assertEquals("sapiens-palette-demo", json.get("model_name").asText());
        assertEquals("1", json.get("model_version").asText());
        assertEquals("req-1", json.get("id").asText());
        assertEquals(List.of("class_map", "mask", "class_png"),
                List.of(json.get("outputs").get(0).get("name").asText(), json.get("outputs").get(1).get("name").asText(),
                        json.get("outputs").get(2).get("name").asText()));

        JsonNode classMap = parsed.output("class_map");
        assertEquals("UINT8", classMap.get("datatype").asText());
        assertEquals(List.of(1, H, W), JSON.convertValue(classMap.get("shape"), List.class));
        assertEquals(W * H, classMap.get("data").size());
        JsonNode mask = parsed.output("mask");
        assertEquals("BOOL", mask.get("datatype").asText());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], classMap.get("data").get(i).asInt(), "class at " + i);
            assertEquals(expected[i] > 0, mask.get("data").get(i).asBoolean(), "mask at " + i);
        }
        assertEquals(3, expected[40 * W + 40]);
        assertEquals(21, expected[120 * W + 240]);

        JsonNode classPng = parsed.output("class_png");
        assertEquals(List.of(1), JSON.convertValue(classPng.get("shape"), List.class));
        assertEquals("base64", classPng.get("parameters").get("content_type").asText());
        assertArrayEquals(expected, indices(Base64.getDecoder().decode(classPng.get("data").get(0).asText())));

        JsonNode statistics = JSON.readTree(json.get("parameters").get("statistics").asText());
        assertEquals(1, statistics.size());
        assertEquals(W, statistics.get(0).get("width").asInt());
        assertTrue(statistics.get(0).get("classes").findValuesAsText("name").contains("Torso"), statistics.toString());
    }

    /**
     * A selection through the protocol: parameters.select / parameters.invert, the selection_mask and cutout tensors
     * (PNG files as BYTES elements), each pixel agreeing with the class_map of the same response; a selection without
     * its pictures, or one the model's classes cannot meet, is a bad request.
     */
    @Test
    void selectionsComeAsTensorsThatAgreeWithTheClassMap() throws Exception {
        Map<String, Boolean> outputs = new LinkedHashMap<>();
        outputs.put("class_map", false);
        outputs.put("selection_mask", false);
        outputs.put("cutout", true);
        com.fasterxml.jackson.databind.node.ObjectNode request = OipClient.jsonRequest(List.of(png), outputs);
        request.putObject("parameters").put("select", "hair+Right_Hand").put("invert", true);
        OipClient.Parsed parsed = OipClient.parse(OipClient.postJson(request).then().statusCode(200).extract().response());
        JsonNode classMap = parsed.output("class_map").get("data");
        java.awt.image.Raster mask = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(Base64.getDecoder()
                .decode(parsed.output("selection_mask").get("data").get(0).asText()))).getRaster();
        java.awt.image.Raster cutout = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                parsed.bytesElements("cutout").get(0))).getRaster();
        long kept = 0;
        for (int i = 0; i < W * H; i++) {
            int id = classMap.get(i).asInt();
            boolean in = id != 3 && id != 14; // inverted: every class but Hair and Right_Hand
            assertEquals(in ? 255 : 0, mask.getSample(i % W, i / W, 0), "mask at " + i);
            assertEquals(in ? 255 : 0, cutout.getSample(i % W, i / W, 3), "alpha at " + i);
            kept += in ? 1 : 0;
        }
        assertTrue(kept > 0 && kept < W * H, "both parts present: " + kept);
        JsonNode statistics = JSON.readTree(parsed.json().get("parameters").get("statistics").asText());
        assertEquals(kept, statistics.get(0).get("selection").get("pixels").asLong());
        assertEquals("hair+right_hand", statistics.get(0).get("selection").get("expression").asText());

        // Naming a selection without outputs adds the mask to the default outputs; with outputs, one must be selective.
        com.fasterxml.jackson.databind.node.ObjectNode defaults = OipClient.jsonRequest(List.of(png), null);
        defaults.putObject("parameters").put("select", "hair");
        JsonNode all = OipClient.parse(OipClient.postJson(defaults).then().statusCode(200).extract().response()).json();
        assertEquals(List.of("class_map", "mask", "class_png", "overlay", "selection_mask"),
                all.get("outputs").findValuesAsText("name"));
        com.fasterxml.jackson.databind.node.ObjectNode unused = OipClient.jsonRequest(List.of(png), Map.of("class_map", false));
        unused.putObject("parameters").put("select", "hair");
        assertProtocolError(OipClient.postJson(unused), 400, "bad-tensor", "selection_mask");
        com.fasterxml.jackson.databind.node.ObjectNode unknown = OipClient.jsonRequest(List.of(png), Map.of("cutout", false));
        unknown.putObject("parameters").put("select", "eyeglass");
        assertProtocolError(OipClient.postJson(unknown), 400, "bad-tensor", "parameters.select");
    }

    @Test
    void binaryTensorsCarryRawBytesBothWays() throws Exception {
        byte[] first = classMapByTheFunction(jpeg);
        byte[] second = classMapByTheFunction(other);
        Map<String, Boolean> outputs = new LinkedHashMap<>();
        outputs.put("class_map", true);
        outputs.put("overlay", true);
        outputs.put("mask", false);
        Response response = OipClient.postBinary(List.of(jpeg, other), outputs);
        response.then().statusCode(200).contentType("application/octet-stream");
        OipClient.Parsed parsed = OipClient.parse(response);
        assertEquals(List.of(2, H, W), JSON.convertValue(parsed.output("class_map").get("shape"), List.class));
        assertNull(parsed.output("class_map").get("data"));
        byte[] both = parsed.binary().get("class_map");
        assertEquals(2 * W * H, both.length);
        assertArrayEquals(first, java.util.Arrays.copyOfRange(both, 0, W * H));
        assertArrayEquals(second, java.util.Arrays.copyOfRange(both, W * H, 2 * W * H));
        JsonNode mask = parsed.output("mask").get("data");
        assertEquals(2 * W * H, mask.size());
        assertEquals(second[100 * W + 100] > 0, mask.get(W * H + 100 * W + 100).asBoolean());

        List<byte[]> overlays = parsed.bytesElements("overlay");
        assertEquals(2, overlays.size());
        assertEquals((byte) 0xFF, overlays.get(0)[0], "a JPEG picture's overlay is a JPEG");
        assertEquals((byte) 0x89, overlays.get(1)[0], "a PNG picture's overlay is a PNG");
        BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(overlays.get(1)));
        assertEquals(2 * W, overlay.getWidth());
        assertEquals(H, overlay.getHeight());
    }

    @Test
    void everyOutputWhenNoneIsNamedAndBinaryForAllOnRequest() throws Exception {
        OipClient.Parsed all = OipClient.parse(OipClient.postJson(OipClient.jsonRequest(List.of(png), null)));
        assertEquals(List.of("class_map", "mask", "class_png", "overlay"), all.json().get("outputs").findValuesAsText("name"));

        ObjectNode request = OipClient.jsonRequest(List.of(png), null);
        request.putObject("parameters").put("binary_data_output", true);
        Response response = OipClient.postJson(request);
        OipClient.Parsed binary = OipClient.parse(response);
        assertEquals(List.of("class_map", "mask", "class_png", "overlay"), List.copyOf(binary.binary().keySet()));
        assertArrayEquals(classMapByTheFunction(png), binary.binary().get("class_map"));
    }

    @Test
    void badTensorsAreClearFourHundreds() {
        ObjectNode wrongType = OipClient.jsonRequest(List.of(png), null);
        ((ObjectNode) wrongType.get("inputs").get(0)).put("datatype", "FP32");
        assertProtocolError(OipClient.postJson(wrongType), 400, "bad-tensor", "BYTES");

        ObjectNode wrongName = OipClient.jsonRequest(List.of(png), null);
        ((ObjectNode) wrongName.get("inputs").get(0)).put("name", "pixels");
        assertProtocolError(OipClient.postJson(wrongName), 400, "bad-tensor", "'pixels'");

        ObjectNode wrongCount = OipClient.jsonRequest(List.of(png), null);
        ((ObjectNode) wrongCount.get("inputs").get(0)).putArray("shape").add(2);
        assertProtocolError(OipClient.postJson(wrongCount), 400, "bad-tensor", "1 elements", "says 2");

        ObjectNode wrongShape = OipClient.jsonRequest(List.of(png), null);
        ((ObjectNode) wrongShape.get("inputs").get(0)).putArray("shape").add(1).add(3);
        assertProtocolError(OipClient.postJson(wrongShape), 400, "bad-tensor", "second dimension");

        ObjectNode notBase64 = OipClient.jsonRequest(List.of(png), null);
        ((ObjectNode) notBase64.get("inputs").get(0)).putArray("data").add("not base64!");
        assertProtocolError(OipClient.postJson(notBase64), 400, "bad-tensor", "base64");

        ObjectNode unknownOutput = OipClient.jsonRequest(List.of(png), Map.of("depth", false));
        assertProtocolError(OipClient.postJson(unknownOutput), 400, "bad-tensor", "'depth'", "class_map");

        ObjectNode tooMany = OipClient.jsonRequest(List.of(png, png, png, png, png), null);
        assertProtocolError(OipClient.postJson(tooMany), 400, "bad-tensor", "at most 4");

        assertProtocolError(given().contentType("application/json").body("[1, 2]").post(INFER), 400, "bad-tensor");
        assertProtocolError(given().contentType("application/json").body("{\"inputs\": [").post(INFER), 400,
                "bad-tensor", "not JSON");
        assertProtocolError(given().contentType("application/json").body("{\"outputs\": []}").post(INFER), 400,
                "bad-tensor", "inputs");
        // A small but wide document is refused while it is parsed, before it can cost memory.
        String wide = "{\"x\": [" + "[],".repeat(20_000) + "[]]}";
        assertProtocolError(given().contentType("application/json").body(wide).post(INFER), 400, "bad-tensor",
                "Token count", "a valid request has");
        // A compressed request is named, not misread as "not JSON".
        assertProtocolError(given().contentType("application/json").header("Content-Encoding", "gzip")
                .body(OipClient.jsonRequest(List.of(png), null).toString()).post(INFER), 400, "bad-tensor", "gzip");
        // Endpoints the protocol has but this server does not serve (Triton's model configuration, the repository).
        for (String path : List.of("/v2/models/sapiens-palette-demo/config", "/v2/repository/index")) {
            assertProtocolError(given().get(path), 404, "unknown-model", "no such Open Inference Protocol endpoint");
        }
    }

    @Test
    void anEmptyOutputListMeansEveryOutput() throws Exception {
        ObjectNode request = OipClient.jsonRequest(List.of(png), null);
        request.putArray("outputs");
        assertEquals(List.of("class_map", "mask", "class_png", "overlay"),
                OipClient.parse(OipClient.postJson(request)).json().get("outputs").findValuesAsText("name"));
    }

    @Test
    void binaryFramingIsCheckedAgainstTheBody() {
        byte[] tensor = OipClient.bytesTensor(List.of(png));
        String header = "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],"
                + "\"parameters\":{\"binary_data_size\":%d}}]}";
        // A size past the end of the body.
        assertProtocolError(OipClient.postRaw(String.format(header, tensor.length + 10).getBytes(StandardCharsets.UTF_8),
                tensor), 400, "bad-tensor", "does not fit");
        // An element whose length lies.
        byte[] lying = tensor.clone();
        java.nio.ByteBuffer.wrap(lying).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, 1_000_000_000);
        assertProtocolError(OipClient.postRaw(String.format(header, lying.length).getBytes(StandardCharsets.UTF_8),
                lying), 400, "bad-tensor", "claims 1000000000 bytes");
        // Bytes after the tensor that no tensor claims, and a tensor with more bytes than its elements.
        byte[] longer = java.util.Arrays.copyOf(tensor, tensor.length + 3);
        assertProtocolError(OipClient.postRaw(String.format(header, tensor.length).getBytes(StandardCharsets.UTF_8),
                longer), 400, "bad-tensor", "belong to no tensor");
        assertProtocolError(OipClient.postRaw(String.format(header, longer.length).getBytes(StandardCharsets.UTF_8),
                longer), 400, "bad-tensor", "after its 1 elements");
        // A header length that is not a number, or longer than the body.
        assertProtocolError(given().header("Inference-Header-Content-Length", "12abc").body(tensor).post(INFER), 400,
                "bad-tensor", "not a number");
        assertProtocolError(OipClient.postRaw(String.format(header.replace("%d", "%d.5"), tensor.length - 1)
                .getBytes(StandardCharsets.UTF_8), tensor), 400, "bad-tensor", "binary_data_size");
        assertProtocolError(given().header("Inference-Header-Content-Length", 999_999).body(tensor).post(INFER), 400,
                "bad-tensor", "does not fit");
    }

    @Test
    void picturesKeepTheFailureVocabulary() {
        byte[] truncated = java.util.Arrays.copyOf(png, png.length / 2);
        assertProtocolError(OipClient.postJson(OipClient.jsonRequest(List.of(truncated), null)), 422, "corrupt-image");
        assertProtocolError(OipClient.postJson(OipClient.jsonRequest(List.of("hello".getBytes(StandardCharsets.UTF_8)),
                null)), 415, "unsupported-format");
        // One bad picture fails the request; the good one does not hide it.
        assertProtocolError(OipClient.postJson(OipClient.jsonRequest(List.of(png, truncated), null)), 422,
                "corrupt-image");
    }

    @Test
    void picturesOfDifferentSizesShareOnlyTheirPictureOutputs() throws Exception {
        byte[] small;
        try (Mat m = TestImages.paint(100, 80, new Region(0, 0, 50, 40, 3))) {
            small = TestImages.png(m);
        }
        assertProtocolError(OipClient.postJson(OipClient.jsonRequest(List.of(png, small), Map.of("class_map", true))),
                400, "bad-tensor", "share a size");
        OipClient.Parsed parsed = OipClient.parse(OipClient.postBinary(List.of(png, small), Map.of("class_png", true)));
        List<byte[]> pngs = parsed.bytesElements("class_png");
        assertEquals(100, ImageIO.read(new ByteArrayInputStream(pngs.get(1))).getWidth());
        assertEquals(W, ImageIO.read(new ByteArrayInputStream(pngs.get(0))).getWidth());
    }

    @Test
    void metricsCarryTheModelName() {
        OipClient.postJson(OipClient.jsonRequest(List.of(png), Map.of("class_png", false))).then().statusCode(200);
        String metrics = given().get("/q/metrics").asString();
        for (String series : List.of("sapiens_inference_request_success_total{model=\"sapiens-palette-demo\"}",
                "sapiens_inference_count_total{model=\"sapiens-palette-demo\"}",
                "sapiens_inference_exec_count_total{model=\"sapiens-palette-demo\"}",
                "sapiens_inference_queue_duration_seconds_count{model=\"sapiens-palette-demo\"}",
                "sapiens_inference_compute_infer_duration_seconds_count{model=\"sapiens-palette-demo\"}",
                "sapiens_inference_request_duration_seconds_count{model=\"sapiens-palette-demo\"}")) {
            assertTrue(metrics.contains(series), series + " in\n" + metrics.lines()
                    .filter(l -> l.startsWith("sapiens_inference")).toList());
        }
    }
}
