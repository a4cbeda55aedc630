package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

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
            CodedInputStream stream = CodedInputStream.newInstance(in, 1 << 16);
            stream.setSizeLimit(Integer.MAX_VALUE);
            while (true) {
                int tag = stream.readTag();
                if (tag == 0) {
                    break;
                }
                if (WireFormat.getTagFieldNumber(tag) == 7 && isLengthDelimited(tag)) {
                    nested(stream, () -> graph(stream, locations));
                } else {
                    stream.skipField(tag);
                }
            }
        }
        for (String location : locations) {
            if (location.startsWith("/") || location.contains("\\") || Path.of(location).normalize().startsWith("..")
                    || location.contains(":")) {
                throw new IOException("external data location '" + location + "' is outside the model's folder");
            }
        }
        return locations;
    }

    private interface Body {
        void read() throws IOException;
    }

    private static void nested(CodedInputStream stream, Body body) throws IOException {
        int length = stream.readRawVarint32();
        int old = stream.pushLimit(length);
        body.read();
        stream.popLimit(old);
    }

    private static boolean isLengthDelimited(int tag) {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }

    private static void graph(CodedInputStream stream, Set<String> out) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if (!isLengthDelimited(tag)) {
                stream.skipField(tag);
            } else if (field == 5) {
                nested(stream, () -> tensor(stream, out));
            } else if (field == 15) {
                nested(stream, () -> sparseTensor(stream, out));
            } else if (field == 1) {
                nested(stream, () -> node(stream, out));
            } else {
                stream.skipField(tag);
            }
        }
    }

    private static void node(CodedInputStream stream, Set<String> out) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            if (WireFormat.getTagFieldNumber(tag) == 5 && isLengthDelimited(tag)) {
                nested(stream, () -> attribute(stream, out));
            } else {
                stream.skipField(tag);
            }
        }
    }

    private static void attribute(CodedInputStream stream, Set<String> out) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if (!isLengthDelimited(tag)) {
                stream.skipField(tag);
            } else if (field == 5 || field == 10) {
                nested(stream, () -> tensor(stream, out));
            } else if (field == 6 || field == 11) { // subgraphs (If, Loop, Scan)
                nested(stream, () -> graph(stream, out));
            } else {
                stream.skipField(tag);
            }
        }
    }

    private static void sparseTensor(CodedInputStream stream, Set<String> out) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if ((field == 1 || field == 2) && isLengthDelimited(tag)) {
                nested(stream, () -> tensor(stream, out));
            } else {
                stream.skipField(tag);
            }
        }
    }

    private static void tensor(CodedInputStream stream, Set<String> out) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            if (WireFormat.getTagFieldNumber(tag) == 13 && isLengthDelimited(tag)) {
                String[] entry = new String[2];
                nested(stream, () -> {
                    while (!stream.isAtEnd()) {
                        int t = stream.readTag();
                        int f = WireFormat.getTagFieldNumber(t);
                        if ((f == 1 || f == 2) && isLengthDelimited(t)) {
                            entry[f - 1] = stream.readStringRequireUtf8();
                        } else {
                            stream.skipField(t);
                        }
                    }
                });
                if ("location".equals(entry[0]) && entry[1] != null && !entry[1].isBlank()) {
                    out.add(entry[1]);
                }
            } else {
                stream.skipField(tag);
            }
        }
    }
}
