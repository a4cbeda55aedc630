package dev.sapienseg.oip;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.output.Edges;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.output.OutputPlanner;

/**
 * An Open Inference Protocol (KServe v2) inference request for this model: one {@code BYTES} input named
 * {@value #INPUT} of shape {@code [N]} or {@code [N, 1]}, each element an encoded picture — base64 strings in JSON, or
 * raw bytes with Triton's binary tensor data extension (header {@code Inference-Header-Content-Length}: the JSON comes
 * first, then each binary input's {@code binary_data_size} bytes, a {@code BYTES} element being a 4-byte little-endian
 * length and its bytes). Everything a caller controls is checked before any picture is decoded: names, datatype,
 * shape against the element count, every length against the body, nothing left over.
 *
 * @param id echoed in the response, if given
 * @param pictures the encoded pictures, one per batch entry
 * @param outputs the outputs asked for, in order, each true when it is to be sent as binary data; when the request
 *        names none (no or an empty {@code outputs}, as the protocol and Triton have it), all but the selection's
 *        pictures ({@link #covering} adds the selection mask's when the request names a selection)
 * @param select the request's {@code parameters.select} (groups, class names or ids joined with {@code +}), or null
 * @param invert the request's {@code parameters.invert}
 * @param edges the request's {@code parameters.edges} ({@code hard} or {@code soft}: the cutout's), or null
 * @param binaryByDefault {@code parameters.binary_data_output}: how outputs not named are sent
 */
record InferenceRequest(String id, List<byte[]> pictures, Map<Output, Boolean> outputs, String select, boolean invert,
        Edges edges, boolean binaryByDefault) {

    static final String INPUT = "image";
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    /**
     * @param headerLength the {@value #HEADER_LENGTH} header, or null for a JSON-only body
     * @param maxEntries most pictures one request may carry
     */
    static InferenceRequest parse(byte[] body, String headerLength, ObjectMapper json, int maxEntries) {
        int jsonLength = body.length;
        if (headerLength != null) {
            try {
                jsonLength = Integer.parseInt(headerLength.trim());
            } catch (NumberFormatException e) {
                throw bad(HEADER_LENGTH + " is not a number: '" + LogSafe.of(headerLength, 40) + "'");
            }
            if (jsonLength < 0 || jsonLength > body.length) {
                throw bad(HEADER_LENGTH + " " + jsonLength + " does not fit the body of " + body.length + " bytes");
            }
        }
        JsonNode root;
        try {
            root = json.readTree(body, 0, jsonLength);
        } catch (StreamConstraintsException e) {
            throw bad("the request is beyond what a valid one can be (" + LogSafe.of(e.getOriginalMessage(), 160)
                    + "); a valid request has a few dozen JSON tokens plus one per picture");
        } catch (JsonProcessingException e) {
            throw bad("the request is not JSON: " + LogSafe.of(String.valueOf(e.getOriginalMessage()), 200));
        } catch (IOException e) {
            throw bad("the request is not JSON: " + LogSafe.of(String.valueOf(e.getMessage()), 200));
        }
        if (root == null || !root.isObject()) {
            throw bad("the request must be a JSON object with 'inputs'");
        }
        String id = root.hasNonNull("id") ? text(root.get("id"), "id") : null;
        boolean allBinary = bool(root.path("parameters").path("binary_data_output"), "parameters.binary_data_output");

        JsonNode inputs = root.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
            throw bad("'inputs' must hold exactly one tensor, '" + INPUT + "' (BYTES, shape [N]: N encoded pictures)");
        }
        JsonNode input = inputs.get(0);
        String name = text(input.get("name"), "inputs[0].name");
        if (!INPUT.equals(name)) {
            throw bad("unknown input '" + LogSafe.of(name, 60) + "'; this model takes '" + INPUT + "'");
        }
        String datatype = text(input.get("datatype"), "inputs[0].datatype");
        if (!"BYTES".equals(datatype)) {
            throw bad("input '" + INPUT + "' has datatype " + LogSafe.of(datatype, 20) + "; it must be BYTES (encoded pictures)");
        }
        int count = entries(input.get("shape"), maxEntries);

        ByteBuffer tail = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength).slice().order(ByteOrder.LITTLE_ENDIAN);
        JsonNode binarySize = input.path("parameters").get("binary_data_size");
        List<byte[]> pictures;
        if (binarySize != null) {
            if (input.has("data")) {
                throw bad("input '" + INPUT + "' has both 'data' and binary_data_size");
            }
            if (!binarySize.isIntegralNumber() || !binarySize.canConvertToLong() || binarySize.asLong() < 0
                    || binarySize.asLong() > tail.remaining()) {
                throw bad("binary_data_size " + LogSafe.of(binarySize.toString(), 40) + " does not fit the "
                        + tail.remaining() + " bytes after the JSON header");
            }
            pictures = binaryElements(tail, (int) binarySize.asLong(), count);
        } else {
            pictures = jsonElements(input.get("data"), count);
        }
        if (tail.hasRemaining()) {
            throw bad(tail.remaining() + " bytes after the JSON header belong to no tensor (binary_data_size missing?)");
        }
        JsonNode parameters = root.path("parameters");
        String select = parameters.hasNonNull("select") ? text(parameters.get("select"), "parameters.select") : null;
        boolean invert = bool(parameters.path("invert"), "parameters.invert");
        Edges edges = null;
        if (parameters.hasNonNull("edges")) {
            try {
                edges = Edges.of(text(parameters.get("edges"), "parameters.edges"));
            } catch (IllegalArgumentException e) {
                throw bad("parameters.edges must be hard or soft");
            }
        }
        Map<Output, Boolean> outputs = outputs(root.get("outputs"), allBinary);
        boolean named = root.get("outputs") != null && root.get("outputs").isArray() && !root.get("outputs").isEmpty();
        boolean selective = outputs.keySet().stream().anyMatch(Output::selective);
        if ((select != null || invert) && !selective && named) {
            throw bad("parameters.select and parameters.invert choose what " + Output.SELECTION_MASK.tensorName()
                    + ", " + Output.CUTOUT.tensorName() + " and " + Output.ALPHA.tensorName()
                    + " show; ask for one of them in 'outputs'");
        }
        return new InferenceRequest(id, pictures, outputs, select, invert, edges, allBinary);
    }

    /**
     * What the pictures are made into: the outputs of the tensors asked for and the request's selection, planned for
     * the served model ({@link OutputPlanner}).
     *
     * @throws SegmentationException bad-tensor for a selection the model's classes cannot meet
     */
    OutputPlan plan(OutputPlanner planner) {
        Set<OutputKind> kinds = EnumSet.noneOf(OutputKind.class);
        outputs.keySet().stream().map(Output::kind).filter(Objects::nonNull).forEach(kinds::add);
        try {
            return planner.plan(kinds, select, invert ? Boolean.TRUE : null, edges);
        } catch (SegmentationException e) {
            throw bad(e.getMessage() + " (in parameters.select)");
        }
    }

    /** This request with a tensor for every output of {@code plan} (the selection mask a named selection adds). */
    InferenceRequest covering(OutputPlan plan) {
        Map<Output, Boolean> tensors = new LinkedHashMap<>(outputs);
        for (Output output : Output.values()) {
            if (output.kind() != null && plan.has(output.kind())) {
                tensors.putIfAbsent(output, binaryByDefault);
            }
        }
        return new InferenceRequest(id, pictures, tensors, select, invert, edges, binaryByDefault);
    }

    /** Memory per pixel the response's tensors take besides the pictures ({@link Output#bytesPerPixel}). */
    long replyBytesPerPixel() {
        return outputs.entrySet().stream().mapToLong(e -> e.getKey().bytesPerPixel(e.getValue())).sum();
    }

    /** {@code [N]} or {@code [N, 1]}, 1 ≤ N ≤ maxEntries. */
    private static int entries(JsonNode shape, int maxEntries) {
        if (shape == null || !shape.isArray() || shape.isEmpty() || shape.size() > 2) {
            throw bad("input '" + INPUT + "' needs a shape [N] or [N, 1]");
        }
        for (JsonNode dim : shape) {
            if (!dim.canConvertToLong() || !dim.isIntegralNumber()) {
                throw bad("input '" + INPUT + "' has a shape that is not whole numbers: " + LogSafe.of(shape.toString(), 60));
            }
        }
        long n = shape.get(0).asLong();
        if (shape.size() == 2 && shape.get(1).asLong() != 1) {
            throw bad("input '" + INPUT + "' shape " + shape + ": the second dimension must be 1 (one picture per entry)");
        }
        if (n < 1) {
            throw bad("input '" + INPUT + "' shape " + shape + " holds no picture");
        }
        if (n > maxEntries) {
            throw bad("input '" + INPUT + "' holds " + n + " pictures; at most " + maxEntries
                    + " per request (sapiens.limits.max-in-flight); send the rest in further requests");
        }
        return (int) n;
    }

    private static List<byte[]> binaryElements(ByteBuffer tail, int size, int count) {
        ByteBuffer tensor = tail.slice(tail.position(), size).order(ByteOrder.LITTLE_ENDIAN);
        tail.position(tail.position() + size);
        List<byte[]> pictures = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            if (tensor.remaining() < 4) {
                throw bad("input '" + INPUT + "': binary data ends before element " + i + " of " + count);
            }
            long length = Integer.toUnsignedLong(tensor.getInt());
            if (length > tensor.remaining()) {
                throw bad("input '" + INPUT + "': element " + i + " claims " + length + " bytes, " + tensor.remaining()
                        + " are left");
            }
            byte[] picture = new byte[(int) length];
            tensor.get(picture);
            pictures.add(picture);
        }
        if (tensor.hasRemaining()) {
            throw bad("input '" + INPUT + "': " + tensor.remaining() + " bytes of binary data after its " + count
                    + " elements (shape and data disagree)");
        }
        return pictures;
    }

    private static List<byte[]> jsonElements(JsonNode data, int count) {
        if (data == null || !data.isArray()) {
            throw bad("input '" + INPUT + "' needs 'data' (base64 strings) or parameters.binary_data_size");
        }
        List<JsonNode> flat = new ArrayList<>();
        flatten(data, flat, 0);
        if (flat.size() != count) {
            throw bad("input '" + INPUT + "' has " + flat.size() + " elements; its shape says " + count);
        }
        List<byte[]> pictures = new ArrayList<>(count);
        for (int i = 0; i < flat.size(); i++) {
            JsonNode element = flat.get(i);
            if (!element.isTextual()) {
                throw bad("input '" + INPUT + "' element " + i + " is not a string (base64 of an encoded picture)");
            }
            try {
                pictures.add(Base64.getDecoder().decode(element.textValue()));
            } catch (IllegalArgumentException e) {
                throw bad("input '" + INPUT + "' element " + i + " is not base64: " + LogSafe.of(e.getMessage(), 100));
            }
        }
        return pictures;
    }

    private static void flatten(JsonNode node, List<JsonNode> into, int depth) {
        if (depth > 2) {
            throw bad("input '" + INPUT + "' data is nested deeper than its shape");
        }
        for (JsonNode element : node) {
            if (element.isArray()) {
                flatten(element, into, depth + 1);
            } else {
                into.add(element);
            }
        }
    }

    private static Map<Output, Boolean> outputs(JsonNode requested, boolean allBinary) {
        Map<Output, Boolean> outputs = new LinkedHashMap<>();
        if (requested == null || requested.isNull() || (requested.isArray() && requested.isEmpty())) {
            for (Output output : Output.values()) {
                if (output.byDefault()) {
                    outputs.put(output, allBinary);
                }
            }
            return outputs;
        }
        if (!requested.isArray()) {
            throw bad("'outputs' must be a list of outputs by name: " + Output.names());
        }
        for (JsonNode entry : requested) {
            String name = text(entry.get("name"), "outputs[].name");
            Output output = Output.named(name);
            if (output == null) {
                throw bad("unknown output '" + LogSafe.of(name, 60) + "'; this model has " + Output.names());
            }
            if (outputs.containsKey(output)) {
                throw bad("output '" + name + "' is asked for twice");
            }
            JsonNode binary = entry.path("parameters").path("binary_data");
            outputs.put(output, binary.isMissingNode() ? allBinary : bool(binary, "outputs[].parameters.binary_data"));
        }
        return outputs;
    }

    private static String text(JsonNode node, String field) {
        if (node == null || !node.isTextual()) {
            throw bad("'" + field + "' must be a string");
        }
        return node.textValue();
    }

    private static boolean bool(JsonNode node, String field) {
        if (node.isMissingNode() || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw bad("'" + field + "' must be true or false");
        }
        return node.booleanValue();
    }

    static SegmentationException bad(String message) {
        return new SegmentationException(FailureReason.BAD_TENSOR, message);
    }
}
