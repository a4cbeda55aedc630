package dev.sapienseg.oip;

import static io.restassured.RestAssured.given;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.restassured.response.Response;

/**
 * What a KServe/Triton client does on the wire, written from the protocol's text (not from our code): JSON requests
 * with base64 pictures, and binary requests (JSON header, then each binary input, a BYTES element being a 4-byte
 * little-endian length and its bytes), and the reading of binary responses.
 */
final class OipClient {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String INFER = "/v2/models/sapiens-palette-demo/infer";

    private OipClient() {
    }

    /** A JSON request: the pictures as base64 strings; outputs as (name, binary) pairs, or none for all. */
    static ObjectNode jsonRequest(List<byte[]> pictures, Map<String, Boolean> outputs) {
        ObjectNode request = JSON.createObjectNode();
        request.put("id", "req-1");
        ObjectNode input = request.putArray("inputs").addObject();
        input.put("name", "image").put("datatype", "BYTES");
        input.putArray("shape").add(pictures.size());
        ArrayNode data = input.putArray("data");
        for (byte[] picture : pictures) {
            data.add(Base64.getEncoder().encodeToString(picture));
        }
        addOutputs(request, outputs);
        return request;
    }

    static void addOutputs(ObjectNode request, Map<String, Boolean> outputs) {
        if (outputs == null) {
            return;
        }
        ArrayNode list = request.putArray("outputs");
        outputs.forEach((name, binary) -> {
            ObjectNode output = list.addObject().put("name", name);
            if (binary) {
                output.putObject("parameters").put("binary_data", true);
            }
        });
    }

    /** The BYTES tensor's binary form. */
    static byte[] bytesTensor(List<byte[]> elements) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] element : elements) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(element.length).array());
            out.writeBytes(element);
        }
        return out.toByteArray();
    }

    /** A binary request: the JSON header (with binary_data_size) then the tensor bytes. */
    static Response postBinary(List<byte[]> pictures, Map<String, Boolean> outputs) {
        byte[] tensor = bytesTensor(pictures);
        ObjectNode request = JSON.createObjectNode();
        ObjectNode input = request.putArray("inputs").addObject();
        input.put("name", "image").put("datatype", "BYTES");
        input.putArray("shape").add(pictures.size());
        input.putObject("parameters").put("binary_data_size", tensor.length);
        addOutputs(request, outputs);
        return postRaw(request.toString().getBytes(StandardCharsets.UTF_8), tensor);
    }

    static Response postRaw(byte[] header, byte[] tail) {
        byte[] body = new byte[header.length + tail.length];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(tail, 0, body, header.length, tail.length);
        return given().header("Inference-Header-Content-Length", header.length)
                .contentType("application/octet-stream").body(body).post(INFER);
    }

    static Response postJson(ObjectNode request) {
        return given().contentType("application/json").body(request.toString()).post(INFER);
    }

    /** A response split into its JSON and each output's binary data by name (outputs without binary data absent). */
    record Parsed(JsonNode json, Map<String, byte[]> binary) {

        JsonNode output(String name) {
            for (JsonNode o : json.get("outputs")) {
                if (o.get("name").asText().equals(name)) {
                    return o;
                }
            }
            return null;
        }

        /** The elements of a BYTES output sent as binary data. */
        List<byte[]> bytesElements(String name) {
            ByteBuffer data = ByteBuffer.wrap(binary.get(name)).order(ByteOrder.LITTLE_ENDIAN);
            List<byte[]> elements = new ArrayList<>();
            while (data.hasRemaining()) {
                byte[] element = new byte[data.getInt()];
                data.get(element);
                elements.add(element);
            }
            return elements;
        }
    }

    static Parsed parse(Response response) throws Exception {
        byte[] body = response.asByteArray();
        String length = response.header("Inference-Header-Content-Length");
        int headerLength = length == null ? body.length : Integer.parseInt(length);
        JsonNode json = JSON.readTree(new String(body, 0, headerLength, StandardCharsets.UTF_8));
        Map<String, byte[]> binary = new LinkedHashMap<>();
        int offset = headerLength;
        for (JsonNode output : json.get("outputs")) {
            JsonNode size = output.path("parameters").get("binary_data_size");
            if (size != null) {
                binary.put(output.get("name").asText(), java.util.Arrays.copyOfRange(body, offset, offset + size.asInt()));
                offset += size.asInt();
            }
        }
        if (offset != body.length) {
            throw new AssertionError("binary data " + offset + " != body " + body.length);
        }
        return new Parsed(json, binary);
    }
}
