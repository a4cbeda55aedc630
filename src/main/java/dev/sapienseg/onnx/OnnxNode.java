package dev.sapienseg.onnx;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

/**
 * One NodeProto as a rewrite needs to see it: inputs, outputs, name, operator, domain and the attributes' simple
 * values. Field numbers from onnx.proto: NodeProto input = 1, output = 2, name = 3, op_type = 4, attribute = 5,
 * domain = 7; AttributeProto name = 1, i = 3, s = 4, g = 6, ints = 8, graphs = 11.
 *
 * @param hasSubgraph an attribute holds a graph (If, Loop, Scan), which may read the outer graph's initializers
 */
public record OnnxNode(List<String> inputs, List<String> outputs, String name, String opType, String domain,
        Map<String, Attribute> attributes, boolean hasSubgraph) {

    /** An attribute's integer, integers and bytes; only what was set is non-empty. */
    public record Attribute(String name, Optional<Long> i, List<Long> ints, Optional<String> s) {
    }

    public static OnnxNode parse(byte[] message) throws IOException {
        CodedInputStream in = OnnxWire.open(message);
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, Attribute> attributes = new LinkedHashMap<>();
        String name = "";
        String opType = "";
        String domain = "";
        boolean subgraph = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag) * 8 + WireFormat.getTagWireType(tag)) {
                case 1 * 8 + 2 -> inputs.add(in.readStringRequireUtf8());
                case 2 * 8 + 2 -> outputs.add(in.readStringRequireUtf8());
                case 3 * 8 + 2 -> name = in.readStringRequireUtf8();
                case 4 * 8 + 2 -> opType = in.readStringRequireUtf8();
                case 7 * 8 + 2 -> domain = in.readStringRequireUtf8();
                case 5 * 8 + 2 -> {
                    int old = in.pushLimit(in.readRawVarint32());
                    Parsed attribute = attribute(in);
                    in.popLimit(old);
                    attributes.put(attribute.value().name(), attribute.value());
                    subgraph |= attribute.subgraph();
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxNode(List.copyOf(inputs), List.copyOf(outputs), name, opType, domain, attributes, subgraph);
    }

    private record Parsed(Attribute value, boolean subgraph) {
    }

    private static Parsed attribute(CodedInputStream in) throws IOException {
        String name = "";
        Long i = null;
        String s = null;
        List<Long> ints = new ArrayList<>();
        boolean subgraph = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                name = in.readStringRequireUtf8();
            } else if (field == 3 && wire == WireFormat.WIRETYPE_VARINT) {
                i = in.readInt64();
            } else if (field == 4 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                s = in.readBytes().toStringUtf8();
            } else if (field == 8 && wire == WireFormat.WIRETYPE_VARINT) {
                ints.add(in.readInt64());
            } else if (field == 8 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) { // packed
                int old = in.pushLimit(in.readRawVarint32());
                while (!in.isAtEnd()) {
                    ints.add(in.readInt64());
                }
                in.popLimit(old);
            } else {
                subgraph |= field == 6 || field == 11;
                in.skipField(tag);
            }
        }
        Attribute value = new Attribute(name, Optional.ofNullable(i), List.copyOf(ints), Optional.ofNullable(s));
        return new Parsed(value, subgraph);
    }

    /** The attribute's integers, or {@code otherwise} when the node does not set it. */
    public List<Long> ints(String attribute, List<Long> otherwise) {
        Attribute a = attributes.get(attribute);
        return a == null ? otherwise : a.ints();
    }

    /** The attribute's integer, or {@code otherwise} when the node does not set it. */
    public long integer(String attribute, long otherwise) {
        Attribute a = attributes.get(attribute);
        return a == null ? otherwise : a.i().orElse(otherwise);
    }

    /** The attribute's text, or {@code otherwise} when the node does not set it. */
    public String text(String attribute, String otherwise) {
        Attribute a = attributes.get(attribute);
        return a == null ? otherwise : a.s().orElse(otherwise);
    }

    /** An attribute to write: its name and the one value a new node needs. */
    public record NewAttribute(String name, Object value) {
    }

    /** A new node's NodeProto bytes: inputs, one output, name, operator (default domain) and attributes. */
    public static byte[] write(String opType, List<String> inputs, String output, String name,
            List<NewAttribute> attributes) {
        return OnnxWire.message(node -> {
            for (String input : inputs) {
                node.writeString(1, input);
            }
            node.writeString(2, output);
            node.writeString(3, name);
            node.writeString(4, opType);
            for (NewAttribute a : attributes) {
                node.writeByteArray(5, OnnxWire.message(attribute -> writeAttribute(attribute, a)));
            }
        });
    }

    private static void writeAttribute(CodedOutputStream out, NewAttribute a) throws IOException {
        out.writeString(1, a.name());
        if (a.value() instanceof long[] values) {
            for (long v : values) {
                out.writeInt64(8, v);
            }
            out.writeEnum(20, 7); // INTS
        } else if (a.value() instanceof Long value) {
            out.writeInt64(3, value);
            out.writeEnum(20, 2); // INT
        } else if (a.value() instanceof String value) {
            out.writeString(4, value);
            out.writeEnum(20, 3); // STRING
        } else {
            throw new IllegalArgumentException("attribute " + a.name() + ": unsupported value " + a.value());
        }
    }
}
