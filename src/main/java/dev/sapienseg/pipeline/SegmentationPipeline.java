package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtException;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
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
    private final Postprocessor postprocessor;
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
        this.postprocessor = new Postprocessor(contract);
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
        TensorBuffers buffers = borrowBuffers();
        try (DecodedImage image = decoder.decode(encoded)) {
            long t1 = System.nanoTime();
            preprocessor.write(image, buffers.input(), 0);
            long t2 = System.nanoTime();
            acquireInferenceSlot();
            long t3 = System.nanoTime();
            try {
                buffers.run(model, 1);
            } catch (OrtException e) {
                throw new SegmentationException(FailureReason.INTERNAL_ERROR, "inference failed: " + e.getMessage(), e);
            } finally {
                inferenceSlots.release();
            }
            long t4 = System.nanoTime();
            Postprocessor.ClassMap classMap = postprocessor.apply(buffers.output(), 0, image.width(), image.height());
            long t5 = System.nanoTime();
            byte[] mask = outputs.mask()
                    ? PalettePngEncoder.encode(classMap.ids(), image.width(), image.height(), GoliathClasses.paletteRgbBytes())
                    : null;
            EncodedImage overlay = outputs.overlay() ? OverlayRenderer.renderEncoded(image, classMap.ids()) : null;
            long t6 = System.nanoTime();
            StageTimings timings = new StageTimings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3), ms(t5 - t4),
                    ms(t6 - t5), ms(t6 - t0));
            return new Segmentation(image.width(), image.height(), image.format(), postprocessor.classNames(),
                    classMap.ids(), classMap.statistics(), timings, mask, overlay);
        } finally {
            bufferPool.offer(buffers);
        }
    }

    private void acquireInferenceSlot() {
        try {
            if (!inferenceSlots.tryAcquire(queueTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new SegmentationException(FailureReason.QUEUE_TIMEOUT,
                        "no inference slot became free within " + queueTimeout.toMillis() + " ms; retry later");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SegmentationException(FailureReason.NOT_READY, "interrupted while waiting for the model", e);
        }
    }

    private TensorBuffers borrowBuffers() {
        TensorBuffers buffers = bufferPool.poll();
        return buffers != null ? buffers : new TensorBuffers(model.contract(), 1);
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }

}
