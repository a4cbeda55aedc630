package dev.sapienseg.onnx;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

/**
 * Rewrites an ONNX file's main graph into {@link SubpixelDeconv}'s faster form, streaming: one pass finds where every
 * field of the model and of its graph is (nodes are parsed, tensors' values skipped), a second copies the file with
 * the ConvTranspose nodes replaced, the weights only they read left out, and the phase weights added. Memory stays
 * at the rewritten weights' size whatever the model's; external-data references are kept as they are, so the
 * result must sit beside the original's data files. Field numbers from onnx.proto: ModelProto graph = 7,
 * opset_import = 8 (domain = 1, version = 2), metadata_props = 14 (key = 1, value = 2); GraphProto node = 1,
 * initializer = 5, input = 11, output = 12, value_info = 13 (ValueInfoProto name = 1).
 */
public final class OnnxRewriter {

    /** DepthToSpace's {@code mode} attribute (DCR) exists from opset 11. */
    static final long MIN_OPSET = 11;
    private static final long PROTOBUF_LIMIT = Integer.MAX_VALUE;

    /** What a rewrite did: ConvTranspose nodes replaced, weights no node reads any more left out. */
    public record Result(int rewritten, int weightsDropped) {
    }

    /** A byte range of the source: a top-level field, or one of the graph's fields with what was read from it. */
    private record Field(int number, long start, long end, OnnxNode node, Initializer initializer) {
    }

    private final Path source;
    private final List<Field> top = new ArrayList<>();
    private final List<Field> graph = new ArrayList<>();
    private final Set<String> graphValues = new HashSet<>(); // graph inputs and outputs: a weight among them stays
    private final Set<String> valueNames = new HashSet<>(); // value_info: names a new value must not take
    private final Set<String> metadataKeys = new HashSet<>();
    private long opset = -1;

    private OnnxRewriter(Path source) {
        this.source = source;
    }

    /**
     * Writes {@code source}'s faster form to {@code target} with {@code metadata} added (keys the model already has
     * are kept as they are); writes nothing when there is nothing to rewrite.
     */
    public static Result rewrite(Path source, Path target, Map<String, String> metadata) throws IOException {
        OnnxRewriter rewriter = new OnnxRewriter(source);
        try (InputStream in = Files.newInputStream(source)) {
            rewriter.scanModel(OnnxWire.open(in));
        }
        return rewriter.write(target, metadata);
    }

    private void scanModel(CodedInputStream in) throws IOException {
        while (!in.isAtEnd()) {
            long start = in.getTotalBytesRead();
            int tag = in.readTag();
            int number = WireFormat.getTagFieldNumber(tag);
            if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED || number != 7 && number != 8
                    && number != 14) {
                in.skipField(tag);
            } else if (number == 7 && !graph.isEmpty()) {
                throw new IOException("the model has two graph fields (protobuf would merge them): not rewritten");
            } else {
                int old = in.pushLimit(in.readRawVarint32());
                switch (number) {
                    case 7 -> scanGraph(in);
                    case 8 -> scanOpset(in);
                    default -> OnnxWire.fields(in, f -> f == 1 ? () -> metadataKeys.add(OnnxWire.text(in)) : null);
                }
                in.popLimit(old);
            }
            top.add(new Field(number, start, in.getTotalBytesRead(), null, null));
        }
    }

    private void scanOpset(CodedInputStream in) throws IOException {
        String domain = "";
        long version = -1;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            if (tag == (1 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
                domain = in.readStringRequireUtf8();
            } else if (tag == (2 << 3 | WireFormat.WIRETYPE_VARINT)) {
                version = in.readInt64();
            } else {
                in.skipField(tag);
            }
        }
        if (domain.isEmpty() || domain.equals("ai.onnx")) {
            opset = version;
        }
    }

    private void scanGraph(CodedInputStream in) throws IOException {
        while (!in.isAtEnd()) {
            long start = in.getTotalBytesRead();
            int tag = in.readTag();
            int number = WireFormat.getTagFieldNumber(tag);
            boolean delimited = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            OnnxNode node = null;
            Initializer initializer = null;
            if (delimited && number == 1) {
                node = OnnxNode.parse(in.readByteArray()); // the bytes go: a Constant's tensor is not kept
            } else if (delimited && number == 5) {
                int old = in.pushLimit(in.readRawVarint32());
                initializer = Initializer.scan(in, source);
                in.popLimit(old);
            } else if (delimited && (number == 11 || number == 12 || number == 13)) {
                Set<String> names = number == 13 ? valueNames : graphValues;
                int old = in.pushLimit(in.readRawVarint32());
                OnnxWire.fields(in, f -> f == 1 ? () -> names.add(OnnxWire.text(in)) : null);
                in.popLimit(old);
            } else {
                in.skipField(tag);
            }
            graph.add(new Field(number, start, in.getTotalBytesRead(), node, initializer));
        }
    }

    private Result write(Path target, Map<String, String> metadata) throws IOException {
        Map<String, Initializer> initializers = new HashMap<>();
        Map<Field, OnnxNode> nodes = new LinkedHashMap<>();
        Set<String> names = new HashSet<>(graphValues);
        names.addAll(valueNames);
        for (Field f : graph) {
            if (f.initializer() != null) {
                initializers.putIfAbsent(f.initializer().name(), f.initializer());
                names.add(f.initializer().name());
            } else if (f.node() != null) {
                nodes.put(f, f.node());
                names.add(f.node().name());
                names.addAll(f.node().outputs());
            }
        }
        if (opset < MIN_OPSET) {
            return new Result(0, 0);
        }
        UniqueNames unique = new UniqueNames(names);
        Map<Field, SubpixelDeconv.Replacement> replaced = new LinkedHashMap<>(); // node order: the same bytes each time
        Map<String, Integer> uses = new HashMap<>();
        Map<String, Integer> rewrittenUses = new HashMap<>();
        boolean subgraphs = false;
        for (Map.Entry<Field, OnnxNode> entry : nodes.entrySet()) {
            OnnxNode node = entry.getValue();
            subgraphs |= node.hasSubgraph();
            node.inputs().forEach(input -> uses.merge(input, 1, Integer::sum));
            Optional<Initializer> weight = node.inputs().size() < 2 ? Optional.empty()
                    : Optional.ofNullable(initializers.get(node.inputs().get(1)));
            boolean replaceable = weight.isPresent() && !graphValues.contains(weight.get().name());
            if (!SubpixelDeconv.applies(node, weight, !replaceable)) {
                continue;
            }
            Optional<byte[]> values = weight.get().read();
            if (values.isPresent()) {
                replaced.put(entry.getKey(), SubpixelDeconv.rewrite(node, weight.get(), values.get(), unique::of));
                rewrittenUses.merge(weight.get().name(), 1, Integer::sum);
            }
        }
        if (replaced.isEmpty()) {
            return new Result(0, 0);
        }
        Set<String> dropped = new HashSet<>();
        if (!subgraphs) { // a subgraph may read an outer initializer by name: then every one stays
            rewrittenUses.forEach((name, count) -> {
                if (count.equals(uses.get(name)) && !graphValues.contains(name)) {
                    dropped.add(name);
                }
            });
        }
        List<byte[]> added = replaced.values().stream().flatMap(r -> r.initializers().stream()).toList();
        long graphBytes = 0;
        for (Field f : graph) {
            graphBytes += graphFieldBytes(f, replaced, dropped);
        }
        for (byte[] initializer : added) {
            graphBytes += OnnxWire.fieldSize(5, initializer.length);
        }
        Map<String, String> extra = new LinkedHashMap<>(metadata);
        extra.keySet().removeAll(metadataKeys);
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 1 << 20)) {
            long total = 0;
            CodedOutputStream header = CodedOutputStream.newInstance(out, 64);
            for (Field f : top) {
                if (f.number() == 7) {
                    header.writeTag(7, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                    header.writeUInt64NoTag(graphBytes);
                    header.flush();
                    for (Field g : graph) {
                        writeGraphField(in, out, g, replaced, dropped);
                    }
                    for (byte[] initializer : added) {
                        writeField(out, 5, initializer);
                    }
                    total += OnnxWire.fieldSize(7, graphBytes);
                } else {
                    copy(in, f.start(), f.end(), out);
                    total += f.end() - f.start();
                }
            }
            for (Map.Entry<String, String> e : extra.entrySet()) {
                byte[] entry = OnnxWire.message(kv -> {
                    kv.writeString(1, e.getKey());
                    kv.writeString(2, e.getValue());
                });
                writeField(out, 14, entry);
                total += OnnxWire.fieldSize(14, entry.length);
            }
            if (total > PROTOBUF_LIMIT) {
                throw new IOException("the rewritten model would be " + total + " bytes, over protobuf's 2 GB limit");
            }
        }
        return new Result(replaced.size(), dropped.size());
    }

    private static long graphFieldBytes(Field f, Map<Field, SubpixelDeconv.Replacement> replaced, Set<String> dropped) {
        if (replaced.containsKey(f)) {
            return replaced.get(f).nodes().stream().mapToLong(n -> OnnxWire.fieldSize(1, n.length)).sum();
        }
        return f.initializer() != null && dropped.contains(f.initializer().name()) ? 0 : f.end() - f.start();
    }

    private static void writeGraphField(FileChannel in, OutputStream out, Field f,
            Map<Field, SubpixelDeconv.Replacement> replaced, Set<String> dropped) throws IOException {
        if (replaced.containsKey(f)) {
            for (byte[] node : replaced.get(f).nodes()) {
                writeField(out, 1, node);
            }
        } else if (f.initializer() == null || !dropped.contains(f.initializer().name())) {
            copy(in, f.start(), f.end(), out);
        }
    }

    private static void writeField(OutputStream out, int number, byte[] body) throws IOException {
        CodedOutputStream coded = CodedOutputStream.newInstance(out, 64);
        coded.writeTag(number, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        coded.writeUInt32NoTag(body.length);
        coded.flush();
        out.write(body);
    }

    private static void copy(FileChannel in, long start, long end, OutputStream out) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, end - start)));
        long at = start;
        while (at < end) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), end - at));
            int n = in.read(buffer, at);
            if (n < 0) {
                throw new IOException("the model file changed while it was rewritten");
            }
            out.write(buffer.array(), 0, n);
            at += n;
        }
    }

    /** Names not yet in the graph: the wanted one, else with _1, _2… appended. */
    private static final class UniqueNames {
        private final Set<String> taken;

        UniqueNames(Set<String> taken) {
            this.taken = taken;
        }

        String of(String wanted) {
            String name = wanted;
            for (int i = 1; !taken.add(name); i++) {
                name = wanted + "_" + i;
            }
            return name;
        }
    }
}
