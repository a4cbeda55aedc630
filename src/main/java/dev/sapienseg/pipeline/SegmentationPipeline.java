package dev.sapienseg.pipeline;

import dev.sapienseg.model.Normalization;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageHeader;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputEncoder;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;

/**
 * The request pipeline, used by the event function and the storage path: decode → preprocess into a batch slot →
 * dynamic batch inference ({@link InferenceBatcher}) → fused upsample+argmax → statistics and the outputs asked for
 * ({@link OutputEncoder}; the overlay in the picture's {@link dev.sapienseg.image.ImageFormat#overlayFormat()}).
 *
 * <p>Bounded: at most {@code maxInFlight} requests are admitted at once (the rest are refused at once as
 * {@link FailureReason#OVERLOADED}), and an admitted request whose run has not started within the queue wait
 * ({@link Deadlines}, derived from the model's run time unless configured) gives up with
 * {@link FailureReason#QUEUE_TIMEOUT}. Both answers are retryable (429/503), with a Retry-After of about one model run.
 * A request whose run has started waits for it: only a run past the watchdog's stall limit is given up.
 */
public final class SegmentationPipeline implements AutoCloseable {

    private final ImageDecoder decoder;
    private final SegmentationCore core;
    private final Semaphore admission;
    private final int maxInFlight;
    private final Deadlines deadlines;
    private final Normalization normalization;
    private final MemoryBound memory;
    private volatile Selection defaultSelection;

    public SegmentationPipeline(ImageDecoder decoder, List<SegmentationModel> sessions, Normalization normalization,
            int maxInFlight, InferenceBatcher.Settings batching, Duration queueTimeout) {
        this(decoder, sessions, normalization, maxInFlight, batching, queueTimeout, new MemoryBound(Long.MAX_VALUE / 4));
    }

    public SegmentationPipeline(ImageDecoder decoder, List<SegmentationModel> sessions, Normalization normalization,
            int maxInFlight, InferenceBatcher.Settings batching, Duration queueTimeout, MemoryBound memory) {
        this(decoder, sessions, normalization, batching, new Deadlines.Settings(Optional.of(queueTimeout), 2,
                Duration.ofDays(1), maxInFlight, batching.maxBatch(), sessions.size(), Duration.ZERO), memory);
    }

    /** @param deadlines the limits the model's measured run time is combined with ({@link Deadlines}) */
    public SegmentationPipeline(ImageDecoder decoder, List<SegmentationModel> sessions, Normalization normalization,
            InferenceBatcher.Settings batching, Deadlines.Settings deadlines, MemoryBound memory) {
        this.memory = memory;
        this.decoder = decoder;
        this.core = new SegmentationCore(sessions, normalization, batching);
        this.admission = new Semaphore(deadlines.maxInFlight());
        this.maxInFlight = deadlines.maxInFlight();
        this.deadlines = new Deadlines(new Deadlines.Settings(deadlines.queueTimeout(), deadlines.minRetryAfterSeconds(),
                deadlines.requestTimeout(), deadlines.maxInFlight(), core.batchCapacity(), sessions.size(),
                deadlines.maxDelay()), core.runTimes());
        this.normalization = normalization;
        this.defaultSelection = selection(null, false);
    }

    /** The selection used when a request names none ({@code sapiens.selection.*}). */
    public Selection defaultSelection() {
        return defaultSelection;
    }

    public void defaultSelection(Selection selection) {
        this.defaultSelection = selection;
    }

    /** The waits derived from the model's run time. */
    public Deadlines deadlines() {
        return deadlines;
    }

    /** The input normalisation this pipeline applies (reported in replies). */
    public Normalization normalization() {
        return normalization;
    }

    /** One session, no batching. */
    public SegmentationPipeline(ImageDecoder decoder, SegmentationModel model, Normalization normalization,
            int maxInFlight, Duration queueTimeout) {
        this(decoder, List.of(model), normalization, maxInFlight, new InferenceBatcher.Settings(1, Duration.ZERO),
                queueTimeout);
    }

    /** The first session's model (all sessions load the same file). */
    public SegmentationModel model() {
        return core.sessions().get(0);
    }

    public List<SegmentationModel> sessions() {
        return core.sessions();
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    /** The class names of the served model, by id. */
    public List<String> classNames() {
        return core.classNames();
    }

    /** Pictures per model run. */
    public int batchCapacity() {
        return core.batchCapacity();
    }

    /** Watches the model runs for liveness. */
    public RunWatchdog watchdog() {
        return core.watchdog();
    }

    /** The memory budget of the requests in flight. */
    public MemoryBound memory() {
        return memory;
    }

    /** Requests admitted at once at most ({@code sapiens.limits.max-in-flight}). */
    public int maxInFlight() {
        return maxInFlight;
    }

    /** Requests being processed now. */
    public int inFlight() {
        return maxInFlight - admission.availablePermits();
    }

    public Segmentation segment(byte[] encoded, Set<OutputKind> outputs) {
        return segment(encoded, outputs, 0);
    }

    /** @param selection the classes of the selection mask and the cutout ({@link #selection}) */
    public Segmentation segment(byte[] encoded, Set<OutputKind> outputs, Selection selection) {
        return segment(encoded, outputs, selection, 0);
    }

    /**
     * The selection {@code expression} means for the served model's classes ({@link Selection}).
     *
     * @throws SegmentationException bad-option (400) naming the entry and what this model's classes accept
     */
    public Selection selection(String expression, boolean invert) {
        try {
            return Selection.parse(expression, invert, core.vocabulary());
        } catch (IllegalArgumentException e) {
            throw new SegmentationException(FailureReason.BAD_OPTION, e.getMessage());
        }
    }

    public Segmentation segment(byte[] encoded, Set<OutputKind> outputs, long extraBytesPerPixel) {
        return segment(encoded, outputs, null, extraBytesPerPixel);
    }

    /**
     * @param extraBytesPerPixel memory the caller's own encoding of the result takes per pixel (the Open Inference
     *        Protocol's tensors), reserved with the rest
     */
    public Segmentation segment(byte[] encoded, Set<OutputKind> outputs, Selection selection, long extraBytesPerPixel) {
        Selection chosen = selection != null ? selection
                : outputs.stream().anyMatch(OutputKind::selective) ? defaultSelection : null;
        try {
            return admit(encoded, outputs, chosen, extraBytesPerPixel);
        } catch (SegmentationException e) {
            // A refusal that a retry can fix: tell the caller when, from the model's pace (about one run).
            if (e.reason().retryable() && e.retryAfterSeconds() == 0) {
                e.retryAfter(deadlines.retryAfterSeconds());
            }
            throw e;
        }
    }

    private Segmentation admit(byte[] encoded, Set<OutputKind> outputs, Selection selection, long extraBytesPerPixel) {
        if (!admission.tryAcquire()) {
            throw new SegmentationException(FailureReason.OVERLOADED,
                    "the pod is at its limit of " + maxInFlight + " concurrent requests; retry later");
        }
        try {
            // The header says how large the picture is: reserve its worst case before anything is decoded.
            long t0 = System.nanoTime();
            ImageHeader header = decoder.inspect(encoded);
            try (MemoryBound.Reservation reserved = memory.reserve(
                    MemoryBound.estimate(header.pixels(), encoded.length, outputs)
                            + Math.multiplyExact(header.pixels(), extraBytesPerPixel))) {
                return admitted(encoded, header, outputs, selection, t0);
            }
        } finally {
            admission.release();
        }
    }

    private Segmentation admitted(byte[] encoded, ImageHeader header, Set<OutputKind> outputs, Selection selection,
            long t0) {
        try (DecodedImage image = decoder.decode(encoded, header)) {
            long t1 = System.nanoTime();
            // The queue deadline starts once the picture is decoded: decoding has its own budget (a permanent 422 past
            // it), and a slow decode must not turn into a retryable queue timeout.
            Duration queueWait = deadlines.queueWait();
            long deadline = t1 + queueWait.toNanos();
            SegmentationCore.Submitted submitted;
            try {
                submitted = core.submit(image, deadline);
            } catch (RuntimeException | OutOfMemoryError e) {
                throw allocationFailure(e, "pre-processing");
            }
            awaitInference(submitted, deadline, queueWait);
            long t3 = System.nanoTime();
            Postprocessor.ClassMap classMap;
            try {
                classMap = submitted.classMap();
            } catch (OutOfMemoryError e) {
                throw allocationFailure(e, "post-processing");
            }
            long t4 = System.nanoTime();
            Map<OutputKind, OutputFile> files;
            try {
                files = OutputEncoder.encode(outputs, image, classMap.ids(), image.format().overlayFormat(),
                        core.vocabulary(), selection);
            } catch (OutOfMemoryError e) {
                throw allocationFailure(e, "encoding");
            }
            long t5 = System.nanoTime();
            StageTimings timings = new StageTimings(ms(t1 - t0), ms(submitted.preprocessNanos()),
                    ms(submitted.queueNanos()), ms(submitted.inferenceNanos()), ms(t4 - t3), ms(t5 - t4), ms(t5 - t0));
            return new Segmentation(image.width(), image.height(), image.format(), core.classNames(),
                    classMap.ids(), classMap.statistics(), timings, files, submitted.batchSize(), selection);
        }
    }

    /**
     * An allocation that failed for this picture (Java heap, or OpenCV's "Insufficient memory"): a permanent answer,
     * since the same picture fails the same way again. (In the container images the JVM runs with
     * -XX:+ExitOnOutOfMemoryError; the per-request memory bound, {@link MemoryBound}, is what keeps legal pictures
     * away from it.)
     */
    private static RuntimeException allocationFailure(Throwable e, String stage) {
        if (e instanceof SegmentationException se) {
            return se;
        }
        String message = String.valueOf(e.getMessage());
        if (e instanceof OutOfMemoryError || message.contains("Insufficient memory") || message.contains("Failed to allocate")) {
            return new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "not enough memory for " + stage
                    + " of this picture; send a smaller one", e);
        }
        return e instanceof RuntimeException re ? re : new IllegalStateException(e);
    }

    private void awaitInference(SegmentationCore.Submitted submitted, long deadline, Duration queueWait) {
        try {
            try {
                submitted.inference().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (!submitted.started()) {
                    submitted.giveUp();
                    throw new SegmentationException(FailureReason.QUEUE_TIMEOUT, "the model did not start on this"
                            + " picture within " + queueWait.toMillis() + " ms (sapiens.limits.queue-timeout; one run"
                            + " takes about " + deadlines.runs().median().toMillis() + " ms); retry later");
                }
                // Its run is under way: answering "retry" now would only repeat the same work. Wait for it, up to the
                // watchdog's stall limit (past it liveness is DOWN and the pod is restarted).
                long stallEnd = submitted.runStartNanos() + watchdog().stallLimit().toNanos();
                try {
                    submitted.inference().get(Math.max(0, stallEnd - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException stalled) {
                    submitted.giveUp();
                    throw new SegmentationException(FailureReason.NOT_READY, "the model run has taken longer than "
                            + watchdog().stallLimit().toSeconds() + " s (sapiens.limits.max-run-time); this pod is"
                            + " being restarted: retry elsewhere");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            submitted.giveUp();
            throw new SegmentationException(FailureReason.NOT_READY, "interrupted while waiting for the model", e);
        } catch (ExecutionException e) {
            submitted.giveUp();
            if (e.getCause() instanceof SegmentationException se) {
                throw se;
            }
            throw new SegmentationException(FailureReason.INTERNAL_ERROR, "inference failed: " + e.getCause(), e.getCause());
        }
    }

    private static double ms(long nanos) {
        return SegmentationCore.ms(nanos);
    }

    /** Stops the batcher's threads; the sessions are closed by their owner. */
    @Override
    public void close() {
        core.close();
    }
}
