package dev.sapienseg.model;

import java.util.Arrays;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

/**
 * What a segmentation model takes and gives, read from the model itself (names differ between exports and must
 * never be hard-coded): one float NCHW input of 3 channels, and logits {@code (B, C, H/2, W/2)} with C = 28
 * (Goliath classes) or C = 1 (sigmoid foreground).
 *
 * @param fixedBatch the batch dimension if the export fixed it, 0 if it is dynamic
 */
public record ModelContract(String inputName, String outputName, int fixedBatch, int inputHeight, int inputWidth,
        int classes, int outputHeight, int outputWidth) {

    /** The Goliath body-part classes of Sapiens v1 (names and palette: {@code output.GoliathClasses}). */
    public static final int GOLIATH_CLASSES = 28;

    /** The largest batch one run may use given the model ({@code Integer.MAX_VALUE} when dynamic). */
    public int maxBatch() {
        return fixedBatch > 0 ? fixedBatch : Integer.MAX_VALUE;
    }

    /**
     * The batch a run uses when {@code requested} pictures are wanted: a model with a fixed batch always runs exactly
     * that batch (unused slots are padding), a dynamic one the pictures requested (at least one). The one place of
     * this rule.
     */
    public int batchFor(int requested) {
        return fixedBatch > 0 ? fixedBatch : Math.max(1, requested);
    }

    public int inputFloatsPerImage() {
        return 3 * inputHeight * inputWidth;
    }

    public int outputFloatsPerImage() {
        return classes * outputHeight * outputWidth;
    }

    /**
     * Reads and checks the contract. Dimensions the model leaves dynamic take the configured input size; output
     * dimensions left dynamic are marked -1 and must be settled by {@link #withObservedOutput} after a warm-up run.
     */
    static ModelContract read(OrtSession session, int defaultHeight, int defaultWidth) throws ModelLoadException {
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            if (inputs.size() != 1) {
                throw new ModelLoadException("expected one input tensor, the model has " + inputs.size() + ": " + inputs.keySet());
            }
            NodeInfo input = inputs.values().iterator().next();
            TensorInfo in = tensorInfo(input, "input");
            long[] inShape = in.getShape();
            if (!isFloatingPoint(in)) {
                throw new ModelLoadException("input '" + input.getName() + "' has element type " + in.type
                        + "; a float32 input is required (float16 is converted; export with float inputs and outputs)");
            }
            if (inShape.length != 4 || (inShape[1] != 3 && inShape[1] != -1)) {
                throw new ModelLoadException("input '" + input.getName() + "' has shape " + Arrays.toString(inShape)
                        + "; expected (batch, 3, height, width)");
            }
            int fixedBatch = inShape[0] > 0 ? (int) inShape[0] : 0;
            int height = inShape[2] > 0 ? (int) inShape[2] : defaultHeight;
            int width = inShape[3] > 0 ? (int) inShape[3] : defaultWidth;
            if (height % 2 != 0 || width % 2 != 0) {
                throw new ModelLoadException("input size " + width + "x" + height + " is not even");
            }

            Map<String, NodeInfo> outputs = session.getOutputInfo();
            NodeInfo output = null;
            for (NodeInfo candidate : outputs.values()) {
                if (candidate.getInfo() instanceof TensorInfo t && t.getShape().length == 4) {
                    output = candidate;
                    break;
                }
            }
            if (output == null) {
                throw new ModelLoadException("no rank-4 logits output among " + outputs.keySet());
            }
            TensorInfo out = tensorInfo(output, "output");
            if (!isFloatingPoint(out)) {
                throw new ModelLoadException("output '" + output.getName() + "' has element type " + out.type
                        + "; float32 (or float16) logits are required");
            }
            long[] outShape = out.getShape();
            ModelContract contract = new ModelContract(input.getName(), output.getName(), fixedBatch, height, width,
                    (int) outShape[1], (int) outShape[2], (int) outShape[3]);
            contract.checkOutput(outShape);
            return contract;
        } catch (OrtException e) {
            throw new ModelLoadException("could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
    }

    /** Whether the model declares every output dimension but the batch (no warm-up run is needed to know them). */
    public boolean outputDeclared() {
        return classes > 0 && outputHeight > 0 && outputWidth > 0;
    }

    /** The contract with output dimensions taken from a real run's output shape. */
    ModelContract withObservedOutput(long[] shape) throws ModelLoadException {
        if (shape.length != 4) {
            throw new ModelLoadException("the model produced an output of shape " + Arrays.toString(shape)
                    + "; expected (batch, classes, height/2, width/2)");
        }
        ModelContract observed = new ModelContract(inputName, outputName, fixedBatch, inputHeight, inputWidth,
                (int) shape[1], (int) shape[2], (int) shape[3]);
        observed.checkOutput(shape);
        if (observed.classes < 1 || observed.outputHeight < 1 || observed.outputWidth < 1) {
            throw new ModelLoadException("the model produced an empty output " + Arrays.toString(shape));
        }
        return observed;
    }

    /**
     * Checks what is known of the output against the known families ({@link ModelFamily}): all of it when the shape is
     * declared; the parts that are, when some dimensions are left for the warm-up run to settle.
     */
    private void checkOutput(long[] shape) throws ModelLoadException {
        long classes = shape[1];
        if (classes != -1 && java.util.Arrays.stream(ModelFamily.values()).noneMatch(f -> f.classes() == classes)) {
            throw new ModelLoadException("wrong output shape " + Arrays.toString(shape) + ": " + classes + " classes; expected "
                    + ModelFamily.expectations(inputHeight, inputWidth));
        }
        boolean heightFits = shape[2] == -1 || shape[2] * 2 == inputHeight || shape[2] == inputHeight;
        boolean widthFits = shape[3] == -1 || shape[3] * 2 == inputWidth || shape[3] == inputWidth;
        if (!heightFits || !widthFits) {
            throw new ModelLoadException("wrong output shape " + Arrays.toString(shape) + ": logits must be at the input size or"
                    + " half of it (input " + inputHeight + "x" + inputWidth + "); expected "
                    + ModelFamily.expectations(inputHeight, inputWidth));
        }
        if (classes != -1 && shape[2] != -1 && shape[3] != -1) {
            ModelFamily.of((int) classes, inputHeight, inputWidth, shape[2], shape[3]);
        }
    }

    /** The model's family, from its classes and logits resolution (checked when the contract was read). */
    public ModelFamily family() {
        try {
            return ModelFamily.of(classes, inputHeight, inputWidth, outputHeight, outputWidth);
        } catch (ModelLoadException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static boolean isFloatingPoint(TensorInfo info) {
        return info.type == OnnxJavaType.FLOAT || info.type == OnnxJavaType.FLOAT16;
    }

    /** Whether the named input or output is float16 (exports with fp16 I/O): the model converts at its boundary. */
    static boolean isHalf(Map<String, NodeInfo> nodes, String name) {
        NodeInfo node = nodes.get(name);
        return node != null && node.getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT16;
    }

    private static TensorInfo tensorInfo(NodeInfo node, String what) throws ModelLoadException {
        if (node.getInfo() instanceof TensorInfo t) {
            return t;
        }
        throw new ModelLoadException(what + " '" + node.getName() + "' is not a tensor: " + node.getInfo());
    }
}
