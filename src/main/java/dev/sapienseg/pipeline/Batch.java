package dev.sapienseg.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/**
 * One batch buffer of the {@link BatchPool} and the pictures of its current use: slots are claimed into it while it
 * fills ({@link BatchForming}), a session runs it ({@link SessionWorkers}), and once every picture has released its
 * slot it is reset and goes back to the pool.
 */
final class Batch {

    final TensorBuffers buffers;

    // Guarded by the BatchForming's lock; claimed does not change once the batch is dispatched.
    final List<InferenceBatcher.Slot> slots = new ArrayList<>();
    int claimed;
    int filled;
    int released;
    boolean sealed;
    boolean dispatched;
    ScheduledFuture<?> timer;

    // Written by the session's thread, read by callers polling whether their run has started.
    volatile long startNanos;
    volatile long endNanos;
    /** The batch the model ran: the claimed slots padded up to a batch size. */
    volatile int runSize;

    Batch(TensorBuffers buffers) {
        this.buffers = buffers;
    }

    /** Ready for its next use; the buffers are reused as they are. */
    void reset() {
        slots.clear();
        claimed = 0;
        filled = 0;
        released = 0;
        sealed = false;
        dispatched = false;
        startNanos = 0;
        timer = null;
    }
}
