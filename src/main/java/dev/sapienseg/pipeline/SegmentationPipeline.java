package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtException;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.ClassStatistics;
import dev.sapienseg.output.EncodedImage;
import dev.sapienseg.output.GoliathClasses;
import dev.sapienseg.output.OverlayRenderer;
import dev.sapienseg.output.PalettePngEncoder;

/**
 * The one segmentation pipeline, used by the event function, the storage path and the batch command:
 * decode → preprocess → inference → fused upsample+argmax → statistics and encoded pictures.
 *
 * <p>Bounded: at most {@code maxInFlight} requests are admitted at once (the rest are refused at once as
 * {@link FailureReason#OVERLOADED}), at most {@code inferenceConcurrency} of them run the model at a time, and an
 * admitted request that cannot get a model slot within {@code queueTimeout} gives up with
 * {@link FailureReason#QUEUE_TIMEOUT}. Input and output tensors live in direct buffers reused across requests,
 * never more than {@code maxInFlight} pairs.
 */
public final class SegmentationPipeline {

    private final ImageDecoder decoder;
    private final SegmentationModel model;
    private final Preprocessor preprocessor;
    private final List<String> classNames;
    private final Semaphore admission;
    private final Semaphore inferenceSlots;
    private final Duration queueTimeout;
    private final ConcurrentLinkedQueue<TensorBuffers> bufferPool = new ConcurrentLinkedQueue<>();

    public SegmentationPipeline(ImageDecoder decoder, SegmentationModel model, Normalization normalization,
            int maxInFlight, int inferenceConcurrency, Duration queueTimeout) {
        this.decoder = decoder;
        this.model = model;
        ModelContract contract = model.contract();
        this.preprocessor = new Preprocessor(contract.inputHeight(), contract.inputWidth(), normalization);
        this.classNames = GoliathClasses.namesFor(contract.classes());
        this.admission = new Semaphore(maxInFlight);
        this.inferenceSlots = new Semaphore(inferenceConcurrency, true);
        this.queueTimeout = queueTimeout;
    }

    public SegmentationModel model() {
        return model;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    public Segmentation segment(byte[] encoded, OutputRequest outputs) {
        if (!admission.tryAcquire()) {
            throw new SegmentationException(FailureReason.OVERLOADED,
                    "the pod is at its limit of concurrent requests; retry later");
        }
        try {
            return admitted(encoded, outputs);
        } finally {
            admission.release();
        }
    }

    private Segmentation admitted(byte[] encoded, OutputRequest outputs) {
        long t0 = System.nanoTime();
        ModelContract contract = model.contract();
        TensorBuffers buffers = borrowBuffers(contract);
        try (DecodedImage image = decoder.decode(encoded)) {
            long t1 = System.nanoTime();
            preprocessor.write(image, buffers.input, 0);
            long t2 = System.nanoTime();
            long t3;
            long t4;
            try {
                if (!inferenceSlots.tryAcquire(queueTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new SegmentationException(FailureReason.QUEUE_TIMEOUT,
                            "no inference slot became free within " + queueTimeout.toMillis() + " ms; retry later");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SegmentationException(FailureReason.NOT_READY, "interrupted while waiting for the model", e);
            }
            try {
                t3 = System.nanoTime();
                model.run(buffers.input, buffers.output, buffers.batch);
                t4 = System.nanoTime();
            } catch (OrtException e) {
                throw new SegmentationException(FailureReason.INTERNAL_ERROR, "inference failed: " + e.getMessage(), e);
            } finally {
                inferenceSlots.release();
            }
            Logits logits = new Logits(buffers.output, 0, contract.classes(), contract.outputHeight(), contract.outputWidth());
            byte[] classMap = UpsampleArgmax.classMap(logits, image.height(), image.width());
            ClassStatistics statistics = ClassStatistics.of(classMap, image.width(), image.height(), classNames);
            long t5 = System.nanoTime();
            byte[] mask = outputs.mask()
                    ? PalettePngEncoder.encode(classMap, image.width(), image.height(), GoliathClasses.paletteRgbBytes())
                    : null;
            EncodedImage overlay = outputs.overlay() ? OverlayRenderer.renderEncoded(image, classMap) : null;
            long t6 = System.nanoTime();
            StageTimings timings = new StageTimings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3), ms(t5 - t4),
                    ms(t6 - t5), ms(t6 - t0));
            return new Segmentation(image.width(), image.height(), image.format(), classNames, classMap, statistics,
                    timings, mask, overlay);
        } finally {
            bufferPool.offer(buffers);
        }
    }

    private TensorBuffers borrowBuffers(ModelContract contract) {
        TensorBuffers buffers = bufferPool.poll();
        if (buffers != null) {
            return buffers;
        }
        // A model with a fixed batch gets it, padded with zeros: InstanceNorm is per sample, padding changes nothing.
        int batch = contract.fixedBatch() > 0 ? contract.fixedBatch() : 1;
        return new TensorBuffers(batch,
                SegmentationModel.directFloats((long) batch * contract.inputFloatsPerImage()),
                SegmentationModel.directFloats((long) batch * contract.outputFloatsPerImage()));
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }

    /** One request's model input and output, reused across requests. */
    private record TensorBuffers(int batch, FloatBuffer input, FloatBuffer output) {
    }
}
