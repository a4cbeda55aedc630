package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;

/**
 * Dynamic batching in the manner of Triton's: pictures claim slots in the batch being filled and write their
 * preprocessed input straight into it; the batch goes to the next free model session when it is full, or when its
 * first picture has waited {@code maxDelay}, or when {@link #flush()} says no more are coming. One
 * {@code OrtSession.run} serves the batch; each picture then reads its own logits slot and releases it. Pictures of
 * any original size share a batch (all are the model's input size).
 *
 * <p>It respects the model: a fixed batch dimension is the batch (a fixed batch of 1 means no batching; unused slots
 * are padding), a dynamic one takes up to {@code maxBatch}. Memory is bounded: batch buffers come from a pool of
 * {@code sessions + 2} (one filling, one per running session, one being post-processed) and a picture that cannot
 * get a slot before its deadline is refused. Used by the function (requests) and the batch command (files).
 *
 * <p>The parts: the buffers ({@link BatchPool}), slots claimed into batches first come first served
 * ({@link BatchForming}), and one thread per session running them ({@link SessionWorkers}). This class holds the
 * slots, whose state only it touches.
 */
public final class InferenceBatcher implements AutoCloseable {

    /**
     * @param maxBatch pictures per run when the model's batch is dynamic (1: no batching)
     * @param maxDelay how long the first picture of a batch waits for company; null: until full or flushed
     * @param sizes the batch sizes runs take (a partial batch is padded up); the largest is {@code maxBatch}
     */
    public record Settings(int maxBatch, Duration maxDelay, BatchSizes sizes) {

        public Settings {
            sizes = sizes == null ? BatchSizes.upTo(maxBatch) : sizes;
            if (sizes.max() != Math.max(1, maxBatch)) {
                throw new IllegalArgumentException("the largest batch size " + sizes.max() + " is not " + maxBatch);
            }
        }

        /** Every size from 1 to {@code maxBatch}. */
        public Settings(int maxBatch, Duration maxDelay) {
            this(maxBatch, maxDelay, null);
        }
    }

    /** One picture's place in a batch. */
    public static final class Slot {
        private final Batch batch;
        private final int index;
        private final CompletableFuture<Slot> result = new CompletableFuture<>();
        private long readyNanos;
        // Copied from the batch when it has run: the batch object is reused afterwards.
        private long startNanos;
        private long endNanos;
        private int ranWith;
        private int ranAs;

        private Slot(Batch batch, int index) {
            this.batch = batch;
            this.index = index;
        }

        /** The batch's buffers: this picture writes its input into slot {@link #index()} and reads its logits there. */
        TensorBuffers buffers() {
            return batch.buffers;
        }

        /** Index in the batch: the NCHW slot of the input, and of the logits. */
        public int index() {
            return index;
        }

        /** Completes when the batch has run (exceptionally with a {@link SegmentationException} if it failed). */
        public CompletableFuture<Slot> result() {
            return result;
        }

        /** Nanoseconds from the input being ready to the model starting on it (valid once {@link #result()} is done). */
        public long queueNanos() {
            return Math.max(0, startNanos - readyNanos);
        }

        public long inferenceNanos() {
            return endNanos - startNanos;
        }

        /** Whether the model has started on this picture's batch (its run is under way or done). */
        public boolean started() {
            return batch.startNanos != 0;
        }

        /** {@link System#nanoTime()} when the batch's run started (valid once {@link #started()}). */
        public long runStartNanos() {
            return batch.startNanos;
        }

        /** The batch the model ran, padding included: one of the batch sizes (valid once {@link #result()} is done). */
        int ranAs() {
            return ranAs;
        }

        /** Pictures that shared the run (valid once {@link #result()} is done). */
        public int batchSize() {
            return ranWith;
        }
    }

    private final ModelContract contract;
    private final int capacity;
    private final BatchForming forming;
    private final SessionWorkers workers;

    public InferenceBatcher(List<SegmentationModel> sessions, Settings settings) {
        this.contract = sessions.get(0).contract();
        this.capacity = contract.batchFor(settings.maxBatch());
        BatchPool pool = new BatchPool(sessions.get(0), capacity, sessions.size() + 2);
        LinkedBlockingQueue<Batch> ready = new LinkedBlockingQueue<>();
        this.forming = new BatchForming(pool, capacity, settings.maxDelay(), ready::add);
        // Last: the threads call finished, which reads the fields above.
        // A fixed-batch model runs its batch whatever the sizes say (a partial one padded).
        BatchSizes runs = contract.fixedBatch() > 0 ? new BatchSizes(List.of(contract.fixedBatch())) : settings.sizes();
        this.workers = new SessionWorkers(sessions, ready, this::finished, runs);
    }

    /** Watches the sessions' runs for liveness. */
    public RunWatchdog watchdog() {
        return workers.watchdog();
    }

    /** The model's measured run times (warm-up, then every successful batch run). */
    public RunTimes runTimes() {
        return workers.runTimes();
    }

    /** Pictures per model run. */
    public int capacity() {
        return capacity;
    }

    public ModelContract contract() {
        return contract;
    }

    /**
     * A slot in the batch being filled, waiting for a free batch buffer until {@code deadlineNanos}
     * ({@link System#nanoTime()} clock). The caller must then call {@link #ready} or {@link #abandon}.
     */
    public Slot claim(long deadlineNanos) {
        return forming.claim(deadlineNanos, Slot::new);
    }

    /** The slot's input is written: the batch may go once every claimed slot is ready. */
    public void ready(Slot slot) {
        slot.readyNanos = System.nanoTime();
        forming.filled(slot.batch);
    }

    /** The picture gave up before its input was written: its slot runs as padding and is released after the run. */
    public void abandon(Slot slot) {
        forming.filled(slot.batch);
        releaseWhenDone(slot);
    }

    /** The picture has read its logits: when every picture of the batch has, the buffers go back to the pool. */
    public void release(Slot slot) {
        forming.release(slot.batch);
    }

    /** Releases the slot once its batch has run, for a caller that stopped waiting. */
    public void releaseWhenDone(Slot slot) {
        slot.result.whenComplete((s, e) -> release(slot));
    }

    /** Sends the partly filled batch now (no more pictures are coming for a while). */
    public void flush() {
        forming.flush();
    }

    /** On the session's thread after a run: each slot gets the run's facts (the batch is reused) and its result. */
    private void finished(Batch batch, Throwable failure) {
        List<Slot> slots = forming.slots(batch);
        for (Slot slot : slots) {
            slot.startNanos = batch.startNanos;
            slot.endNanos = batch.endNanos;
            slot.ranWith = slots.size();
            slot.ranAs = batch.runSize;
            if (failure == null) {
                slot.result.complete(slot);
            } else {
                slot.result.completeExceptionally(new SegmentationException(FailureReason.INTERNAL_ERROR,
                        "inference failed: " + failure.getMessage(), failure));
            }
        }
    }

    /** Stops the sessions' threads after the batches already queued; the sessions themselves are the caller's. */
    @Override
    public void close() {
        forming.close();
        workers.close();
    }
}
