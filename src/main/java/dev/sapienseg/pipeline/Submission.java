package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputEncoder;

/**
 * One admitted picture between {@link SegmentationPipeline#submit} and its {@link Segmentation}: it holds the
 * admission permit, the memory reservation, the decoded picture and the batch slot, and {@link #close()} releases
 * whatever is still held, whichever way the picture ends (answered, timed out, failed).
 */
public final class Submission implements AutoCloseable {

    private final SegmentationRequest request;
    private final SegmentationPipeline pipeline;
    private final Semaphore admission;
    private final MemoryBound.Reservation reservation;
    private final DecodedImage image;
    private final SegmentationCore.Submitted submitted;
    private final long startNanos;
    private final long decodedNanos;
    private final long queueDeadline;
    private boolean closed;

    Submission(SegmentationRequest request, SegmentationPipeline pipeline, Semaphore admission,
            MemoryBound.Reservation reservation, DecodedImage image, SegmentationCore.Submitted submitted,
            long startNanos, long decodedNanos, long queueDeadline) {
        this.request = request;
        this.pipeline = pipeline;
        this.admission = admission;
        this.reservation = reservation;
        this.image = image;
        this.submitted = submitted;
        this.startNanos = startNanos;
        this.decodedNanos = decodedNanos;
        this.queueDeadline = queueDeadline;
    }

    /** When the model must have started on this picture ({@link System#nanoTime()}): the decode time plus the queue wait. */
    long queueDeadline() {
        return queueDeadline;
    }

    /** Completes when the picture's batch has run (exceptionally with a {@link SegmentationException} if it failed). */
    public CompletableFuture<?> inference() {
        return submitted.inference();
    }

    /**
     * Waits for the model to start on this picture until the queue deadline (a retryable queue-timeout past it), and
     * for a started run up to the watchdog's stall limit: answering "retry" to a run under way would only repeat it.
     */
    void await(long deadlineNanos, Duration queueWait) {
        try {
            try {
                submitted.inference().get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (!submitted.started()) {
                    submitted.giveUp();
                    throw new SegmentationException(FailureReason.QUEUE_TIMEOUT, "the model did not start on this"
                            + " picture within " + queueWait.toMillis() + " ms (sapiens.limits.queue-timeout; one run"
                            + " takes about " + pipeline.deadlines().runs().median().toMillis() + " ms); retry later");
                }
                RunWatchdog watchdog = pipeline.watchdog();
                long stallEnd = submitted.runStartNanos() + watchdog.stallLimit().toNanos();
                try {
                    submitted.inference().get(Math.max(0, stallEnd - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException stalled) {
                    submitted.giveUp();
                    throw new SegmentationException(FailureReason.NOT_READY, "the model run has taken longer than "
                            + watchdog.stallLimit().toSeconds() + " s (sapiens.limits.max-run-time); this pod is"
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

    /**
     * Once {@link #inference()} has completed normally: the class map at the picture's size, its statistics and the
     * planned outputs, with the time of every stage.
     */
    public Segmentation finish() {
        long t3 = System.nanoTime();
        Postprocessor.ClassMap classMap;
        try {
            classMap = submitted.classMap(Postprocessor.Extras.of(request.plan()));
        } catch (RuntimeException | OutOfMemoryError e) { // OpenCV's "Insufficient memory" is a RuntimeException
            throw SegmentationPipeline.allocationFailure(e, "post-processing");
        }
        long t4 = System.nanoTime();
        OutputEncoder.Encoded encoded;
        try {
            ImageFormat overlay = request.overlayFormat() != null ? request.overlayFormat()
                    : image.format().overlayFormat();
            encoded = OutputEncoder.encode(request.plan(), image, classMap.ids(), classMap.statistics(),
                    classMap.alpha(), classMap.logits(), overlay, pipeline.planner().vocabulary());
        } catch (RuntimeException | OutOfMemoryError e) {
            throw SegmentationPipeline.allocationFailure(e, "encoding");
        }
        long t5 = System.nanoTime();
        StageTimings timings = new StageTimings(ms(decodedNanos - startNanos), ms(submitted.preprocessNanos()),
                ms(submitted.queueNanos()), ms(submitted.inferenceNanos()), ms(t4 - t3), ms(t5 - t4), ms(t5 - startNanos));
        return new Segmentation(image.width(), image.height(), image.format(), pipeline.planner().vocabulary().names(),
                classMap.ids(), classMap.statistics(), timings, encoded.files(), submitted.batchSize(),
                request.plan().selection(), encoded.shapes(), request.plan().edges());
    }

    /** Releases the slot (once its batch has run), the picture, the memory and the admission permit. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        submitted.giveUp();
        image.close();
        reservation.close();
        admission.release();
    }

    private static double ms(long nanos) {
        return SegmentationCore.ms(nanos);
    }
}
