package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import com.google.protobuf.CodedInputStream;

import dev.sapienseg.onnx.OnnxWire;

/**
 * Lists the external-data files an ONNX model refers to (models over 2 GB keep their weights beside the graph). Walks
 * the protobuf without materialising it: tensors' raw bytes are skipped, so a 1.4 GB inline model is read once with
 * constant memory. Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, initializer = 5,
 * sparse_initializer = 15; NodeProto.attribute = 5; AttributeProto.t = 5, tensors = 10, g = 6, graphs = 11;
 * SparseTensorProto.values = 1, indices = 2; TensorProto.external_data = 13 (key = 1, value = 2).
 */
public final class ExternalDataFiles {

    private ExternalDataFiles() {
    }

    /** The relative locations named by the model's tensors; refuses absolute paths and paths that leave the folder. */
    public static Set<String> of(Path model) throws IOException {
        Set<String> locations = new TreeSet<>();
        try (InputStream in = Files.newInputStream(model)) {
            CodedInputStream stream = OnnxWire.open(in);
            OnnxWire.fields(stream, field -> field == 7 ? () -> graph(stream, locations) : null);
        }
        for (String location : locations) {
            if (OnnxWire.beside(model, location).isEmpty()) {
                throw new IOException("external data location '" + location + "' is outside the model's folder");
            }
        }
        return locations;
    }

    private static void graph(CodedInputStream stream, Set<String> out) throws IOException {
        OnnxWire.fields(stream, field -> switch (field) {
            case 5 -> () -> tensor(stream, out);
            case 15 -> () -> OnnxWire.fields(stream, f -> f == 1 || f == 2 ? () -> tensor(stream, out) : null); // sparse
            case 1 -> () -> OnnxWire.fields(stream, f -> f == 5 ? () -> attribute(stream, out) : null); // node
            default -> null;
        });
    }

    private static void attribute(CodedInputStream stream, Set<String> out) throws IOException {
        OnnxWire.fields(stream, field -> switch (field) {
            case 5, 10 -> () -> tensor(stream, out);
            case 6, 11 -> () -> graph(stream, out); // subgraphs (If, Loop, Scan)
            default -> null;
        });
    }

    private static void tensor(CodedInputStream stream, Set<String> out) throws IOException {
        OnnxWire.fields(stream, field -> field != 13 ? null : () -> {
            String[] entry = new String[2];
            OnnxWire.fields(stream, f -> f == 1 || f == 2 ? () -> entry[f - 1] = OnnxWire.text(stream) : null);
            if ("location".equals(entry[0]) && entry[1] != null && !entry[1].isBlank()) {
                out.add(entry[1]);
            }
        });
    }
}
