package dev.sapienseg.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

/**
 * Where an initializer's values are, without reading them: a graph's TensorProto walked once, its data skipped.
 * Field numbers from onnx.proto: TensorProto dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9,
 * external_data = 13 (StringStringEntryProto key = 1, value = 2), data_location = 14.
 *
 * @param dataType onnx.proto's TensorProto.DataType
 * @param file the file holding the values (the model itself, or an external-data file beside it); empty when the
 *        values are in a form this reader does not locate (typed fields other than packed float_data)
 * @param offset where the values start in {@code file}, little-endian as raw_data stores them
 * @param length their bytes
 */
public record Initializer(String name, int dataType, List<Long> dims, Optional<Path> file, long offset, long length) {

    public static final int FLOAT = 1;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int BFLOAT16 = 16;

    /** Bytes per element for the floating-point types a weight permutation can move; 0 for any other type. */
    public int elementBytes() {
        return switch (dataType) {
            case FLOAT -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            case DOUBLE -> 8;
            default -> 0;
        };
    }

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** The values' bytes, when they are located and as long as the dimensions say. */
    public Optional<byte[]> read() throws IOException {
        if (file.isEmpty() || elementBytes() == 0 || length != elements() * elementBytes()
                || length > Integer.MAX_VALUE) {
            return Optional.empty();
        }
        ByteBuffer values = ByteBuffer.allocate((int) length);
        try (FileChannel channel = FileChannel.open(file.get(), StandardOpenOption.READ)) {
            while (values.hasRemaining()) {
                if (channel.read(values, offset + values.position()) < 0) {
                    throw new IOException(file.get() + " ends before the values of initializer " + name);
                }
            }
        }
        return Optional.of(values.array());
    }

    /**
     * Reads the TensorProto at the stream's position (limited to it), the stream reading {@code model} from its first
     * byte. External data is resolved beside the model and must stay in its folder.
     */
    static Initializer scan(CodedInputStream in, Path model) throws IOException {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        Path file = null;
        long offset = 0;
        long length = -1;
        String location = null;
        boolean external = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            if (field == 1 && wire == WireFormat.WIRETYPE_VARINT) {
                dims.add(in.readInt64());
            } else if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int old = in.pushLimit(in.readRawVarint32());
                while (!in.isAtEnd()) {
                    dims.add(in.readInt64());
                }
                in.popLimit(old);
            } else if (field == 2 && wire == WireFormat.WIRETYPE_VARINT) {
                dataType = in.readInt32();
            } else if (field == 8 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                name = in.readStringRequireUtf8();
            } else if ((field == 9 || field == 4) && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                length = in.readRawVarint32() & 0xffffffffL; // raw_data, or packed float_data: the same bytes
                offset = in.getTotalBytesRead();
                file = model;
                in.skipRawBytes((int) length);
            } else if (field == 13 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                String[] entry = new String[2];
                int old = in.pushLimit(in.readRawVarint32());
                OnnxWire.fields(in, f -> f == 1 || f == 2 ? () -> entry[f - 1] = OnnxWire.text(in) : null);
                in.popLimit(old);
                if ("location".equals(entry[0])) {
                    location = entry[1];
                } else if ("offset".equals(entry[0]) && entry[1] != null) {
                    offset = Long.parseLong(entry[1].strip());
                } else if ("length".equals(entry[0]) && entry[1] != null) {
                    length = Long.parseLong(entry[1].strip());
                }
            } else if (field == 14 && wire == WireFormat.WIRETYPE_VARINT) {
                external = in.readEnum() == 1;
            } else {
                in.skipField(tag);
            }
        }
        if (external) {
            file = location == null ? null : OnnxWire.beside(model, location).orElse(null);
            if (file != null && length < 0) {
                length = Files.size(file) - offset;
            }
        }
        if (file == null || length < 0) {
            return new Initializer(name, dataType, List.copyOf(dims), Optional.empty(), 0, 0);
        }
        return new Initializer(name, dataType, List.copyOf(dims), Optional.of(file), offset, length);
    }

    /** A new initializer's TensorProto bytes: dimensions, type, name and raw little-endian values. */
    public static byte[] write(String name, int dataType, long[] dims, byte[] values) {
        return OnnxWire.message(tensor -> {
            for (long d : dims) {
                tensor.writeInt64(1, d);
            }
            tensor.writeInt32(2, dataType);
            tensor.writeString(8, name);
            tensor.writeByteArray(9, values);
        });
    }
}
