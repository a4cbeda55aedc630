package dev.sapienseg.oip;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.output.OutputFile;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.report.SegmentationReport;

/**
 * Writes an Open Inference Protocol inference response: {@code model_name}, {@code model_version}, {@code id}, the
 * per-picture reports (classes present with pixel counts, shares and boxes; timings) as the {@code statistics}
 * parameter (a JSON string: the protocol's parameters are scalars), and each output asked for — as JSON {@code data}
 * ({@code BYTES} elements base64, {@code content_type: base64}) or, with the binary tensor data extension, as
 * {@code binary_data_size} and bytes after the JSON, in output order.
 *
 * @param header the JSON part
 * @param binary what follows it, or empty
 */
record InferenceResponse(byte[] header, List<byte[]> binary) {

    /** Whether any output is sent as binary data (then the response carries {@code Inference-Header-Content-Length}). */
    boolean hasBinary() {
        return !binary.isEmpty();
    }

    static InferenceResponse write(ObjectMapper json, String modelName, String version, InferenceRequest request,
            List<Segmentation> results, List<SegmentationReport> reports) {
        checkSizes(request, results);
        ByteArrayOutputStream header = new ByteArrayOutputStream(4096);
        List<byte[]> binary = new ArrayList<>();
        try (JsonGenerator out = json.getFactory().createGenerator(header)) {
            out.writeStartObject();
            out.writeStringField("model_name", modelName);
            out.writeStringField("model_version", version);
            if (request.id() != null) {
                out.writeStringField("id", request.id());
            }
            out.writeObjectFieldStart("parameters");
            out.writeStringField("statistics", json.writeValueAsString(reports));
            out.writeEndObject();
            out.writeArrayFieldStart("outputs");
            for (Map.Entry<Output, Boolean> entry : request.outputs().entrySet()) {
                writeOutput(out, entry.getKey(), entry.getValue(), results, binary);
            }
            out.writeEndArray();
            out.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new InferenceResponse(header.toByteArray(), binary);
    }

    /** The class map and mask are one tensor [N, H, W]: the request's pictures must share a size. */
    private static void checkSizes(InferenceRequest request, List<Segmentation> results) {
        boolean pixels = request.outputs().containsKey(Output.CLASS_MAP) || request.outputs().containsKey(Output.MASK);
        Segmentation first = results.get(0);
        for (Segmentation s : results) {
            if (pixels && (s.width() != first.width() || s.height() != first.height())) {
                throw InferenceRequest.bad("the pictures are " + first.width() + "x" + first.height() + " and "
                        + s.width() + "x" + s.height() + ": class_map and mask are one [N, H, W] tensor, so one"
                        + " request's pictures must share a size (or ask only for class_png and overlay)");
            }
        }
    }

    private static void writeOutput(JsonGenerator out, Output output, boolean asBinary, List<Segmentation> results,
            List<byte[]> binary) throws IOException {
        Segmentation first = results.get(0);
        out.writeStartObject();
        out.writeStringField("name", output.tensorName());
        out.writeStringField("datatype", output.datatype());
        out.writeArrayFieldStart("shape");
        out.writeNumber(results.size());
        if (output.kind() == null) {
            out.writeNumber(first.height());
            out.writeNumber(first.width());
        }
        out.writeEndArray();
        if (asBinary) {
            byte[] data = binaryData(output, results);
            out.writeObjectFieldStart("parameters");
            out.writeNumberField("binary_data_size", data.length);
            out.writeEndObject();
            binary.add(data);
        } else {
            if (output.kind() != null) {
                out.writeObjectFieldStart("parameters");
                out.writeStringField("content_type", "base64");
                out.writeEndObject();
            }
            out.writeArrayFieldStart("data");
            for (Segmentation s : results) {
                switch (output) {
                    case CLASS_MAP -> {
                        for (byte id : s.classMap()) {
                            out.writeNumber(id);
                        }
                    }
                    case MASK -> {
                        for (byte id : s.classMap()) {
                            out.writeBoolean(id > 0);
                        }
                    }
                    default -> out.writeBinary(s.output(output.kind()).data());
                }
            }
            out.writeEndArray();
        }
        out.writeEndObject();
    }

    private static byte[] binaryData(Output output, List<Segmentation> results) {
        if (output.kind() == null) {
            int pixels = results.get(0).classMap().length;
            byte[] data = new byte[Math.multiplyExact(pixels, results.size())];
            for (int i = 0; i < results.size(); i++) {
                byte[] map = results.get(i).classMap();
                if (output == Output.CLASS_MAP) {
                    System.arraycopy(map, 0, data, i * pixels, pixels);
                } else {
                    for (int p = 0; p < pixels; p++) {
                        data[i * pixels + p] = (byte) (map[p] > 0 ? 1 : 0);
                    }
                }
            }
            return data;
        }
        long size = 0;
        for (Segmentation s : results) {
            size += 4 + s.output(output.kind()).length();
        }
        ByteBuffer data = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
        for (Segmentation s : results) {
            OutputFile file = s.output(output.kind());
            data.putInt(file.data().length).put(file.data());
        }
        return data.array();
    }
}
