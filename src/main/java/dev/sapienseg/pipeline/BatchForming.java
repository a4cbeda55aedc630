package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import dev.sapienseg.util.DaemonThreads;

/**
 * Forms batches: callers claim slots in the batch being filled, first come first served; the batch is sealed when
 * full, when its first picture has waited {@code maxDelay}, or on {@link #flush()}, and is dispatched to the sessions
 * once every claimed slot is ready (written, or abandoned as padding). Batch state is guarded by this object's
 * monitor; waiting for a buffer happens in the {@link BatchPool}, outside it, so that it holds up no ready or release.
 */
final class BatchForming {

    /** Makes the caller's slot: {@link InferenceBatcher.Slot}'s constructor is private to the batcher. */
    interface SlotFactory {
        InferenceBatcher.Slot create(Batch batch, int index);
    }

    private final BatchPool pool;
    private final int capacity;
    private final Duration maxDelay;
    private final Consumer<Batch> dispatch;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("sapiens-batch-timer"));

    /**
     * The line of callers: a fair lock hands itself over in arrival order, and only its holder claims, so nobody
     * overtakes a caller waiting for a buffer (with a plain monitor, late callers did: a p99 of seconds under load).
     * A caller whose deadline passes in the line leaves it without a trace.
     */
    private final ReentrantLock line = new ReentrantLock(true);

    private Batch filling; // set only by the holder of the line, cleared when sealed
    private volatile boolean closed;

    BatchForming(BatchPool pool, int capacity, Duration maxDelay, Consumer<Batch> dispatch) {
        this.pool = pool;
        this.capacity = capacity;
        this.maxDelay = maxDelay;
        this.dispatch = dispatch;
    }

    /** Claims a slot when the caller's turn comes, taking a batch from the pool if none is filling. */
    InferenceBatcher.Slot claim(long deadlineNanos, SlotFactory newSlot) {
        takeTurn(deadlineNanos);
        try {
            synchronized (this) {
                if (closed) {
                    throw BatchPool.shuttingDown();
                }
                if (filling != null) {
                    return claimIn(filling, newSlot);
                }
            }
            // Nobody else sets filling while this caller holds the line: the batch it waits for will be the one.
            Batch batch = pool.take(deadlineNanos);
            synchronized (this) {
                if (!closed) {
                    filling = batch;
                    return claimIn(batch, newSlot);
                }
            }
            pool.give(batch);
            throw BatchPool.shuttingDown();
        } finally {
            line.unlock();
        }
    }

    /**
     * Waits in line until {@code deadlineNanos}. An interrupted caller takes its turn only if it need not wait, as with
     * the monitor wait this replaces ({@code tryLock} with a timeout would refuse it even then).
     */
    private void takeTurn(long deadlineNanos) {
        if (closed) {
            throw BatchPool.shuttingDown();
        }
        boolean interrupted = Thread.interrupted();
        try {
            if (line.tryLock(interrupted ? 0 : deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            interrupted = true;
            throw BatchPool.interrupted(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (closed) {
            throw BatchPool.shuttingDown();
        }
        if (interrupted && deadlineNanos - System.nanoTime() > 0) {
            throw BatchPool.interrupted(null);
        }
        throw BatchPool.noSlotInTime();
    }

    private InferenceBatcher.Slot claimIn(Batch batch, SlotFactory newSlot) {
        InferenceBatcher.Slot slot = newSlot.create(batch, batch.claimed++);
        batch.slots.add(slot);
        if (batch.claimed == capacity) {
            seal(batch);
        } else if (batch.claimed == 1 && maxDelay != null) {
            long delay = maxDelay.toNanos();
            if (delay <= 0) {
                seal(batch);
            } else {
                batch.timer = timer.schedule(() -> sealOnTimer(batch), delay, TimeUnit.NANOSECONDS);
            }
        }
        return slot;
    }

    /** A claimed slot is ready (written, or abandoned as padding). */
    synchronized void filled(Batch batch) {
        batch.filled++;
        dispatchIfReady(batch);
    }

    /** A picture is done with its slot: the last one sends the batch back to the pool. */
    void release(Batch batch) {
        synchronized (this) {
            batch.released++;
            if (batch.released != batch.claimed) {
                return;
            }
            batch.reset();
        }
        pool.give(batch);
    }

    /** The batch's slots, for its session to complete once it has run. */
    synchronized List<InferenceBatcher.Slot> slots(Batch batch) {
        return List.copyOf(batch.slots);
    }

    /** Sends the partly filled batch now. */
    void flush() {
        Batch empty;
        synchronized (this) {
            if (filling == null) {
                return;
            }
            if (filling.claimed > 0) {
                seal(filling);
                return;
            }
            empty = filling;
            filling = null;
        }
        pool.give(empty);
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
            dispatch.accept(batch);
        }
    }

    /**
     * Refuses claims from now on (the one waiting for a buffer included) and sends the filling batch. No batch fills
     * after this, so the timer has nothing left to seal.
     */
    void close() {
        synchronized (this) {
            closed = true;
        }
        pool.close();
        flush();
        timer.shutdownNow();
    }
}
