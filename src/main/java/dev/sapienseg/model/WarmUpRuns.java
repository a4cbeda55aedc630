package dev.sapienseg.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jboss.logging.Logger;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

/**
 * The runs on zeros before readiness, one per batch size: they load kernels and allocators, make cuDNN choose its
 * algorithms for each input shape (and TensorRT build its engine), and settle output dimensions the model left
 * dynamic.
 *
 * @param contract the contract with the observed output dimensions
 * @param batches the batch sizes warmed, in order
 * @param millis each run's time, in the same order
 */
public record WarmUpRuns(ModelContract contract, List<Integer> batches, List<Long> millis) {

    private static final Logger LOG = Logger.getLogger(SegmentationModel.class);

    public WarmUpRuns {
        batches = List.copyOf(batches);
        millis = List.copyOf(millis);
    }

    static WarmUpRuns run(OrtEnvironment env, OrtSession session, ModelContract declared, boolean halfInput,
            List<Integer> batches) throws OrtException, ModelLoadException {
        ModelContract contract = declared;
        List<Long> times = new ArrayList<>();
        for (int batch : batches) {
            long start = System.nanoTime();
            contract = once(env, session, contract, halfInput, batch);
            times.add(Math.max(1, (System.nanoTime() - start) / 1_000_000));
        }
        if (batches.size() > 1) {
            LOG.infof("warm-up: batch sizes %s took %s ms", batches, times);
        }
        return new WarmUpRuns(contract, batches, times);
    }

    private static ModelContract once(OrtEnvironment env, OrtSession session, ModelContract declared,
            boolean halfInput, int batch) throws OrtException, ModelLoadException {
        long count = (long) batch * declared.inputFloatsPerImage();
        long[] shape = {batch, 3, declared.inputHeight(), declared.inputWidth()};
        // Zero is all-zero bits in float16 as in float32.
        ByteBuffer zeros = ByteBuffer.allocateDirect(Math.toIntExact(count * (halfInput ? 2 : 4)))
                .order(ByteOrder.nativeOrder());
        try (OnnxTensor input = halfInput
                ? OnnxTensor.createTensor(env, zeros.asShortBuffer(), shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, zeros.asFloatBuffer(), shape);
                OrtSession.Result result = session.run(Map.of(declared.inputName(), input))) {
            OnnxValue output = result.get(declared.outputName())
                    .orElseThrow(() -> new ModelLoadException("the model returned no '" + declared.outputName() + "'"));
            if (!(output.getInfo() instanceof TensorInfo info)) {
                throw new ModelLoadException("output '" + declared.outputName() + "' is not a tensor");
            }
            ModelContract observed = declared.withObservedOutput(info.getShape());
            if (info.getShape()[0] != batch) {
                throw new ModelLoadException("the model returned a batch of " + info.getShape()[0] + " for " + batch + " images");
            }
            return observed;
        }
    }

    /** All runs together: what the warm-up added to the start. */
    public long totalMillis() {
        return millis.stream().mapToLong(Long::longValue).sum();
    }

    /**
     * The last run, of the largest batch, after the first run's set-up (and cuDNN's search or TensorRT's engine build):
     * a first estimate of a run's time before any is measured.
     */
    public long lastMillis() {
        return millis.isEmpty() ? 0 : millis.get(millis.size() - 1);
    }
}
