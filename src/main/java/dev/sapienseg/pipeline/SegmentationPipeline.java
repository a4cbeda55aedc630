package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageHeader;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputPlanner;

/**
 * The one segmenter, behind every adapter (CloudEvent replies, storage, the Open Inference Protocol, the batch
 * command): a {@link SegmentationRequest} in, a {@link Segmentation} out. Decode → preprocess into a batch slot →
 * dynamic batch inference ({@link InferenceBatcher}) → fused upsample+argmax → statistics and the planned outputs
 * ({@link dev.sapienseg.output.OutputEncoder}).
 *
 * <p>Bounded: at most {@code maxInFlight} requests are admitted at once (the rest are refused at once as
 * {@link FailureReason#OVERLOADED}), each reserves its worst-case memory from its header before decoding
 * ({@link MemoryBound}), and an admitted request whose run has not started within the queue wait ({@link Deadlines},
 * derived from the model's run time unless configured) gives up with {@link FailureReason#QUEUE_TIMEOUT}. Both
 * answers are retryable (429/503), with a Retry-After of about one model run. A request whose run has started waits
 * for it: only a run past the watchdog's stall limit is given up.
 */
public final class SegmentationPipeline implements AutoCloseable {

    /**
     * @param normalization the input normalisation
     * @param batching pictures per run and how long a batch waits for company
     * @param deadlines the limits the model's measured run time is combined with ({@link Deadlines})
     * @param memory the budget of the requests in flight
     * @param planner plans outputs for the served model's classes, with the default selection
     */
    public record Settings(Normalization normalization, InferenceBatcher.Settings batching, Deadlines.Settings deadlines,
            MemoryBound memory, OutputPlanner planner) {
    }

    private final ImageDecoder decoder;
    private final SegmentationCore core;
    private final Semaphore admission;
    private final int maxInFlight;
    private final Deadlines deadlines;
    private final Normalization normalization;
    private final MemoryBound memory;
    private final OutputPlanner planner;
    private final BatchSizes batchSizes;

    public SegmentationPipeline(ImageDecoder decoder, List<SegmentationModel> sessions, Settings settings) {
        this.planner = settings.planner();
        this.decoder = decoder;
        this.memory = settings.memory();
        this.normalization = settings.normalization();
        this.batchSizes = settings.batching().sizes();
        this.core = new SegmentationCore(sessions, settings.normalization(), settings.batching());
        Deadlines.Settings limits = settings.deadlines();
        this.maxInFlight = limits.maxInFlight();
        this.admission = new Semaphore(maxInFlight);
        this.deadlines = new Deadlines(new Deadlines.Settings(limits.queueTimeout(), limits.minRetryAfterSeconds(),
                limits.requestTimeout(), maxInFlight, core.batchCapacity(), sessions.size(), limits.maxDelay()),
                core.runTimes());
    }

    /**
     * Segments one picture and waits for it: admission, memory, the queue deadline, the run, the outputs.
     *
     * @throws SegmentationException the reason, with a Retry-After of about one model run when a retry can help
     */
    public Segmentation segment(SegmentationRequest request) {
        try {
            Duration queueWait = deadlines.queueWait();
            try (Submission submission = submit(request, queueWait)) {
                submission.await(submission.queueDeadline(), queueWait);
                return submission.finish();
            }
        } catch (SegmentationException e) {
            // A refusal that a retry can fix: tell the caller when, from the model's pace (about one run).
            if (e.reason().retryable() && e.retryAfterSeconds() == 0) {
                e.retryAfter(deadlines.retryAfterSeconds());
            }
            throw e;
        }
    }

    /**
     * Admits, decodes and preprocesses one picture into the batch being filled, and returns without waiting for its
     * run: the batch command's way in, which finishes pictures on its own pool
     * ({@link Submission#inference()}, then {@link Submission#finish()}, then {@link Submission#close()}).
     */
    public Submission submit(SegmentationRequest request) {
        return submit(request, deadlines.queueWait());
    }

    private Submission submit(SegmentationRequest request, Duration queueWait) {
        if (!admission.tryAcquire()) {
            throw new SegmentationException(FailureReason.OVERLOADED,
                    "the pod is at its limit of " + maxInFlight + " concurrent requests; retry later");
        }
        MemoryBound.Reservation reserved = null;
        DecodedImage image = null;
        try {
            // The header says how large the picture is: reserve its worst case before anything is decoded.
            long t0 = System.nanoTime();
            byte[] encoded = request.picture();
            ImageHeader header = decoder.inspect(encoded);
            reserved = memory.reserve(MemoryBound.estimate(header.pixels(), encoded.length, request.plan(),
                    model().contract().outputFloatsPerImage())
                    + Math.multiplyExact(header.pixels(), request.replyBytesPerPixel()));
            image = decoder.decode(encoded, header);
            long t1 = System.nanoTime();
            // The queue deadline starts once the picture is decoded: decoding has its own budget (a permanent 422 past
            // it), and a slow decode must not turn into a retryable queue timeout.
            long deadline = t1 + queueWait.toNanos();
            SegmentationCore.Submitted submitted;
            try {
                submitted = core.submit(image, deadline);
            } catch (RuntimeException | OutOfMemoryError e) {
                throw allocationFailure(e, "pre-processing");
            }
            return new Submission(request, this, admission, reserved, image, submitted, t0, t1, deadline);
        } catch (RuntimeException | Error e) {
            if (image != null) {
                image.close();
            }
            if (reserved != null) {
                reserved.close();
            }
            admission.release();
            throw e;
        }
    }

    /** Sends a partly filled batch now (the batch command, after its last picture). */
    public void flush() {
        core.flush();
    }

    /**
     * An allocation that failed for this picture (Java heap, or OpenCV's "Insufficient memory"): a permanent answer,
     * since the same picture fails the same way again. (In the container images the JVM runs with
     * -XX:+ExitOnOutOfMemoryError; the per-request memory bound, {@link MemoryBound}, is what keeps legal pictures
     * away from it.)
     */
    static RuntimeException allocationFailure(Throwable e, String stage) {
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

    /** Turns callers' choices of outputs and selection into plans for the served model's classes. */
    public OutputPlanner planner() {
        return planner;
    }

    /** The waits derived from the model's run time. */
    public Deadlines deadlines() {
        return deadlines;
    }

    /** The input normalisation this pipeline applies (reported in replies). */
    public Normalization normalization() {
        return normalization;
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

    /** Pictures per model run. */
    /** The batch sizes model runs take (a partial batch is padded up to the next). */
    public BatchSizes batchSizes() {
        return batchSizes;
    }

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

    /** Stops the batcher's threads; the sessions are closed by their owner. */
    @Override
    public void close() {
        core.close();
    }
}
