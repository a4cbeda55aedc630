package dev.sapienseg.pipeline;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.model.SegmentationModel;

/**
 * The batch buffers: direct native-order input and output buffers for {@code capacity} pictures each, allocated on
 * first need and reused. Their number bounds memory: {@code sessions + 2} (one filling, one per running session, one
 * being post-processed). Only the caller at the head of {@link BatchForming}'s line takes from the pool, so there is
 * at most one waiter.
 */
final class BatchPool {

    private final SegmentationModel model;
    private final int capacity;
    private final Deque<Batch> free = new ArrayDeque<>();
    private int unallocated;
    private boolean closed;

    BatchPool(SegmentationModel model, int capacity, int batches) {
        this.model = model;
        this.capacity = capacity;
        this.unallocated = batches;
    }

    /**
     * A free batch, allocating one if the pool has not reached its size, or waiting for one to be given back until
     * {@code deadlineNanos} ({@link System#nanoTime()} clock); one that is at hand is taken even past the deadline.
     */
    synchronized Batch take(long deadlineNanos) {
        while (true) {
            if (closed) {
                throw shuttingDown();
            }
            Batch batch = free.poll();
            if (batch != null) {
                return batch;
            }
            if (unallocated > 0) {
                return allocate();
            }
            long wait = deadlineNanos - System.nanoTime();
            if (wait <= 0) {
                throw noSlotInTime();
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw interrupted(e);
            }
        }
    }

    private Batch allocate() {
        Batch batch;
        try {
            batch = new Batch(new TensorBuffers(model, capacity));
        } catch (RuntimeException | OutOfMemoryError e) {
            // The buffers cannot be had (a batch too large for one direct buffer, no memory): this caller fails and
            // leaves the line, instead of everyone waiting behind it for ever; the next one tries again.
            throw new SegmentationException(FailureReason.INTERNAL_ERROR, "could not allocate the buffers of"
                    + " a batch of " + capacity + ": " + e.getMessage(), e);
        }
        unallocated--;
        return batch;
    }

    /** A batch back from use (every slot released) or from an empty flush. */
    synchronized void give(Batch batch) {
        free.add(batch);
        notifyAll();
    }

    /** Refuses every take from now on, waking the one waiting. */
    synchronized void close() {
        closed = true;
        notifyAll();
    }

    // The refusals a claim can meet in the line or here, worded once.
    static SegmentationException shuttingDown() {
        return new SegmentationException(FailureReason.NOT_READY, "the model is shutting down");
    }

    static SegmentationException interrupted(InterruptedException cause) {
        return new SegmentationException(FailureReason.NOT_READY, "interrupted while waiting for a batch slot", cause);
    }

    static SegmentationException noSlotInTime() {
        return new SegmentationException(FailureReason.QUEUE_TIMEOUT,
                "no batch slot became free before the deadline; retry later");
    }
}
