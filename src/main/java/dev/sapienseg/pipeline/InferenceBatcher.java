package dev.sapienseg.pipeline;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;

import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

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
 */
public final class InferenceBatcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(InferenceBatcher.class);

    /**
     * @param maxBatch pictures per run when the model's batch is dynamic (1: no batching)
     * @param maxDelay how long the first picture of a batch waits for company; null: until full or flushed
     */
    public record Settings(int maxBatch, Duration maxDelay) {
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

        private Slot(Batch batch, int index) {
            this.batch = batch;
            this.index = index;
        }

        public FloatBuffer input() {
            return batch.buffers.input();
        }

        public FloatBuffer output() {
            return batch.buffers.output();
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

        /** Pictures that shared the run (valid once {@link #result()} is done). */
        public int batchSize() {
            return ranWith;
        }
    }

    private static final class Batch {
        final TensorBuffers buffers;
        final List<Slot> slots = new ArrayList<>();
        int claimed;
        int filled;
        int released;
        boolean sealed;
        boolean dispatched;
        ScheduledFuture<?> timer;
        volatile long startNanos;
        volatile long endNanos;

        Batch(TensorBuffers buffers) {
            this.buffers = buffers;
        }
    }

    private static final Batch END = new Batch(null);

    private final ModelContract contract;
    private final Settings settings;
    private final int capacity;
    private final Deque<Batch> free = new ArrayDeque<>();
    private final LinkedBlockingQueue<Batch> ready = new LinkedBlockingQueue<>();
    private final ScheduledExecutorService timer;
    private final List<Thread> workers = new ArrayList<>();
    private int unallocated;
    private Batch filling;
    private long nextTicket;
    private long servingTicket;
    private final java.util.Set<Long> gaveUp = new java.util.HashSet<>();
    private boolean closed;
    private final RunWatchdog watchdog;
    private final RunTimes runTimes;

    public InferenceBatcher(List<SegmentationModel> sessions, Settings settings) {
        this.contract = sessions.get(0).contract();
        this.settings = settings;
        this.capacity = contract.batchFor(settings.maxBatch());
        this.unallocated = sessions.size() + 2;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sapiens-batch-timer");
            t.setDaemon(true);
            return t;
        });
        long warmUp = sessions.stream().mapToLong(SegmentationModel::warmUpMillis).max().orElse(0);
        this.runTimes = new RunTimes(Duration.ofMillis(warmUp));
        this.watchdog = new RunWatchdog(sessions.size(), runTimes, System::nanoTime);
        for (SegmentationModel session : sessions) {
            int index = workers.size();
            Thread worker = new Thread(() -> work(session, index), "sapiens-inference-" + index);
            worker.setDaemon(true);
            worker.start();
            workers.add(worker);
        }
    }

    /** Watches the sessions' runs for liveness. */
    public RunWatchdog watchdog() {
        return watchdog;
    }

    /** The model's measured run times (warm-up, then every successful batch run). */
    public RunTimes runTimes() {
        return runTimes;
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
    public synchronized Slot claim(long deadlineNanos) {
        // First come, first served: without tickets, notifyAll lets late callers overtake early ones (a p99 of
        // seconds under load).
        long ticket = nextTicket++;
        while (ticket != servingTicket || filling == null) {
            if (closed) {
                skip(ticket);
                throw new SegmentationException(FailureReason.NOT_READY, "the model is shutting down");
            }
            if (ticket == servingTicket && filling == null) {
                filling = free.poll();
                if (filling == null && unallocated > 0) {
                    try {
                        filling = new Batch(new TensorBuffers(contract, capacity));
                    } catch (RuntimeException | OutOfMemoryError e) {
                        // The buffers cannot be had (a batch too large for one direct buffer, no memory): this caller
                        // fails, and the line moves on instead of waiting behind it for ever.
                        skip(ticket);
                        throw new SegmentationException(FailureReason.INTERNAL_ERROR, "could not allocate the buffers of"
                                + " a batch of " + capacity + ": " + e.getMessage(), e);
                    }
                    unallocated--;
                }
                if (filling != null) {
                    break;
                }
            }
            long wait = deadlineNanos - System.nanoTime();
            if (wait <= 0) {
                skip(ticket);
                throw new SegmentationException(FailureReason.QUEUE_TIMEOUT,
                        "no batch slot became free before the deadline; retry later");
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                skip(ticket);
                throw new SegmentationException(FailureReason.NOT_READY, "interrupted while waiting for a batch slot", e);
            }
        }
        advance();
        Batch batch = filling;
        Slot slot = new Slot(batch, batch.claimed++);
        batch.slots.add(slot);
        if (batch.claimed == capacity) {
            seal(batch);
        } else if (batch.claimed == 1 && settings.maxDelay() != null) {
            long delay = settings.maxDelay().toNanos();
            if (delay <= 0) {
                seal(batch);
            } else {
                batch.timer = timer.schedule(() -> sealOnTimer(batch), delay, TimeUnit.NANOSECONDS);
            }
        }
        return slot;
    }

    /** The slot's input is written: the batch may go once every claimed slot is ready. */
    public synchronized void ready(Slot slot) {
        slot.readyNanos = System.nanoTime();
        slot.batch.filled++;
        dispatchIfReady(slot.batch);
    }

    /** The picture gave up before its input was written: its slot runs as padding and is released after the run. */
    public void abandon(Slot slot) {
        synchronized (this) {
            slot.batch.filled++;
            dispatchIfReady(slot.batch);
        }
        releaseWhenDone(slot);
    }

    /** The picture has read its logits: when every picture of the batch has, the buffers go back to the pool. */
    public synchronized void release(Slot slot) {
        Batch batch = slot.batch;
        batch.released++;
        if (batch.released == batch.claimed) {
            batch.slots.clear();
            batch.claimed = 0;
            batch.filled = 0;
            batch.released = 0;
            batch.sealed = false;
            batch.dispatched = false;
            batch.startNanos = 0;
            batch.timer = null;
            free.add(batch);
            notifyAll();
        }
    }

    /** Releases the slot once its batch has run, for a caller that stopped waiting. */
    public void releaseWhenDone(Slot slot) {
        slot.result.whenComplete((s, e) -> release(slot));
    }

    /** Sends the partly filled batch now (no more pictures are coming for a while). */
    public synchronized void flush() {
        if (filling != null) {
            Batch batch = filling;
            if (batch.claimed == 0) {
                filling = null;
                free.add(batch);
                notifyAll();
            } else {
                seal(batch);
            }
        }
    }

    /** The next caller in line may claim. */
    private void advance() {
        servingTicket++;
        while (gaveUp.remove(servingTicket)) {
            servingTicket++;
        }
        notifyAll();
    }

    /** A caller leaves the line without claiming. */
    private void skip(long ticket) {
        if (ticket == servingTicket) {
            advance();
        } else {
            gaveUp.add(ticket);
        }
    }

    private synchronized void sealOnTimer(Batch batch) {
        if (filling == batch && !batch.sealed) {
            seal(batch);
        }
    }

    private void seal(Batch batch) {
        batch.sealed = true;
        if (filling == batch) {
            filling = null;
        }
        if (batch.timer != null) {
            batch.timer.cancel(false);
        }
        dispatchIfReady(batch);
    }

    private void dispatchIfReady(Batch batch) {
        if (batch.sealed && !batch.dispatched && batch.filled == batch.claimed) {
            batch.dispatched = true;
            ready.add(batch);
        }
    }

    /** One model session: runs batches as they come. */
    private void work(SegmentationModel session, int index) {
        while (true) {
            Batch batch;
            try {
                batch = ready.take();
            } catch (InterruptedException e) {
                return;
            }
            if (batch == END) {
                return;
            }
            batch.startNanos = Math.max(1, System.nanoTime());
            Throwable failure = null;
            watchdog.started(index);
            try {
                batch.buffers.run(session, batch.claimed);
            } catch (Exception | LinkageError | OutOfMemoryError e) {
                failure = e;
                LOG.errorf(e, "inference of a batch of %d failed", batch.claimed);
            }
            watchdog.finished(index, failure);
            batch.endNanos = System.nanoTime();
            if (failure == null) {
                runTimes.record(batch.endNanos - batch.startNanos);
            }
            List<Slot> slots;
            synchronized (this) {
                slots = List.copyOf(batch.slots);
            }
            for (Slot slot : slots) {
                slot.startNanos = batch.startNanos;
                slot.endNanos = batch.endNanos;
                slot.ranWith = slots.size();
                if (failure == null) {
                    slot.result.complete(slot);
                } else {
                    slot.result.completeExceptionally(new SegmentationException(FailureReason.INTERNAL_ERROR,
                            "inference failed: " + failure.getMessage(), failure));
                }
            }
        }
    }

    /** Stops the sessions' threads after the batches already queued; the sessions themselves are the caller's. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        flush();
        for (int i = 0; i < workers.size(); i++) {
            ready.add(END);
        }
        for (Thread worker : workers) {
            try {
                worker.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        timer.shutdownNow();
    }
}
