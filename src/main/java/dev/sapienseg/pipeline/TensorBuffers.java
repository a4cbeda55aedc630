package dev.sapienseg.pipeline;


import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

import ai.onnxruntime.platform.Fp16Conversions;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.output.RawLogits;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;

/**
 * Model input and output for up to {@code capacity} images: direct native-order buffers that ONNX Runtime wraps
 * without copying, allocated once and reused, in the model's own element types. For a float16 model pictures are
 * written as halves, and each picture widens its own logits from halves on its caller's thread, so the thread that
 * runs the model converts nothing. A model with a fixed batch always gets its full batch, and a run may be padded
 * up to one of the {@link BatchSizes}; padding slots hold whatever they held (every picture of a batch is computed on
 * its own, so padding changes no real result).
 */
public final class TensorBuffers {

    private final ModelContract contract;
    private final int capacity;
    private final Buffer input;
    /** The logits as floats; for a float16 model each picture widens its own slot into it from {@link #halfOutput}. */
    private final FloatBuffer output;
    private final ShortBuffer halfOutput;

    /** Buffers for {@code images} pictures of {@code model}: float or half as the model takes and returns them. */
    public TensorBuffers(SegmentationModel model, int images) {
        this.contract = model.contract();
        this.capacity = contract.batchFor(images);
        if (images > contract.maxBatch()) {
            throw new IllegalArgumentException(images + " images exceed the model's fixed batch of " + contract.fixedBatch());
        }
        long in = (long) capacity * contract.inputFloatsPerImage();
        long out = (long) capacity * contract.outputFloatsPerImage();
        this.input = model.halfInput() ? SegmentationModel.directShorts(in) : SegmentationModel.directFloats(in);
        this.output = SegmentationModel.directFloats(out);
        this.halfOutput = model.halfOutput() ? SegmentationModel.directShorts(out) : null;
    }

    /** Images that fit, which is also the largest batch the model runs. */
    public int capacity() {
        return capacity;
    }

    /** Preprocesses {@code image} into slot {@code index}, as floats or halves. */
    public void write(Preprocessor preprocessor, DecodedImage image, int index) {
        int offset = index * contract.inputFloatsPerImage();
        if (input instanceof ShortBuffer halves) {
            preprocessor.writeHalf(image, halves, offset);
        } else {
            preprocessor.write(image, (FloatBuffer) input, offset);
        }
    }

    /** The class map of slot {@code index} at {@code width × height}, read from float or half logits. */
    public Postprocessor.ClassMap read(Postprocessor postprocessor, int index, int width, int height) {
        return read(postprocessor, index, width, height, Postprocessor.Extras.NONE);
    }

    /** The same, with what {@code extras} asks for besides (the soft alpha, a copy of the raw logits). */
    public Postprocessor.ClassMap read(Postprocessor postprocessor, int index, int width, int height,
            Postprocessor.Extras extras) {
        int count = contract.outputFloatsPerImage();
        if (halfOutput != null) {
            for (int i = index * count, end = i + count; i < end; i++) {
                output.put(i, Fp16Conversions.fp16ToFloat(halfOutput.get(i)));
            }
        }
        return postprocessor.apply(output, index, width, height, extras, extras.logits() ? raw(index, count) : null);
    }

    /** Slot {@code index}'s logits as the model gave them, little-endian. */
    private RawLogits raw(int index, int count) {
        ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(count, halfOutput != null ? 2 : 4))
                .order(ByteOrder.LITTLE_ENDIAN);
        if (halfOutput != null) {
            bytes.asShortBuffer().put(halfOutput.duplicate().position(index * count).limit((index + 1) * count));
        } else {
            bytes.asFloatBuffer().put(output.duplicate().position(index * count).limit((index + 1) * count));
        }
        return new RawLogits(halfOutput != null ? "<f2" : "<f4", contract.classes(), contract.outputHeight(),
                contract.outputWidth(), bytes.array());
    }

    /** Runs the model on a batch of {@code batch} slots (a fixed-batch model runs its whole, padded batch). */
    public void run(SegmentationModel model, int batch) throws ai.onnxruntime.OrtException {
        model.runAsIs(input, halfOutput != null ? halfOutput : output, model.contract().batchFor(batch));
    }

    /** The float input, for tools that fill it themselves; a float16 model's buffers have none. */
    public FloatBuffer input() {
        return (FloatBuffer) input;
    }

    /** The float logits, for tools that read them themselves (a float16 model's only after {@link #read}). */
    public FloatBuffer output() {
        return output;
    }
}
