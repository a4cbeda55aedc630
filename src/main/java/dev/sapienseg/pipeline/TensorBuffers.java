package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;

import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;

/**
 * Model input and output for up to {@code capacity} images: direct native-order buffers that ONNX Runtime wraps
 * without copying, allocated once and reused. A model with a fixed batch always gets its full batch; unused slots
 * stay zero (InstanceNorm is per sample, so padding changes no real result).
 */
public final class TensorBuffers {

    private final int capacity;
    private final FloatBuffer input;
    private final FloatBuffer output;

    public TensorBuffers(ModelContract contract, int images) {
        this.capacity = contract.batchFor(images);
        if (images > contract.maxBatch()) {
            throw new IllegalArgumentException(images + " images exceed the model's fixed batch of " + contract.fixedBatch());
        }
        this.input = SegmentationModel.directFloats((long) capacity * contract.inputFloatsPerImage());
        this.output = SegmentationModel.directFloats((long) capacity * contract.outputFloatsPerImage());
    }

    /** Images that fit, which is also the batch the model runs (the fixed batch, or the images requested). */
    public int capacity() {
        return capacity;
    }

    public FloatBuffer input() {
        return input;
    }

    public FloatBuffer output() {
        return output;
    }

    /** Runs the model on the first {@code images} slots (a fixed-batch model runs its whole, padded batch). */
    public void run(SegmentationModel model, int images) throws ai.onnxruntime.OrtException {
        int batch = model.contract().batchFor(images);
        model.run(input, output, batch);
    }
}
