package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import org.jboss.logging.Logger;

import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.util.DaemonThreads;

/**
 * One thread per model session, each running the batches of a shared queue as they come: one {@code OrtSession.run}
 * per batch, watched by the {@link RunWatchdog} and timed into the {@link RunTimes}.
 */
final class SessionWorkers {

    // The batcher's category, which logging configuration may name.
    private static final Logger LOG = Logger.getLogger(InferenceBatcher.class);

    /** Put once per thread on close, after the batches already queued. */
    private static final Batch END = new Batch(null);

    private final BlockingQueue<Batch> ready;
    private final BiConsumer<Batch, Throwable> finished;
    private final List<Thread> threads = new ArrayList<>();
    private final RunTimes runTimes;
    private final RunWatchdog watchdog;
    private final BatchSizes sizes;

    /**
     * Starts the threads.
     *
     * @param ready the batches to run, sealed and with every slot ready
     * @param finished called on the session's thread after each run, with what it threw (null if it succeeded)
     * @param sizes the batch sizes a run takes: a batch of fewer pictures is padded up to the next one
     */
    SessionWorkers(List<SegmentationModel> sessions, BlockingQueue<Batch> ready, BiConsumer<Batch, Throwable> finished,
            BatchSizes sizes) {
        this.ready = ready;
        this.finished = finished;
        this.sizes = sizes;
        // The first estimate of a run: the last warm-up run (the largest batch, after the first run's set-up and search).
        long warmUp = sessions.stream().mapToLong(s -> s.warmUp().lastMillis()).max().orElse(0);
        this.runTimes = new RunTimes(Duration.ofMillis(warmUp));
        this.watchdog = new RunWatchdog(sessions.size(), runTimes, System::nanoTime);
        for (SegmentationModel session : sessions) {
            int index = threads.size();
            threads.add(DaemonThreads.start("sapiens-inference-" + index, () -> work(session, index)));
        }
    }

    RunWatchdog watchdog() {
        return watchdog;
    }

    RunTimes runTimes() {
        return runTimes;
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
            batch.startNanos = Math.max(1, System.nanoTime()); // 0 means not started
            Throwable failure = null;
            watchdog.started(index);
            try {
                batch.runSize = sizes.runFor(batch.claimed);
                batch.buffers.run(session, batch.runSize);
            } catch (Exception | LinkageError | OutOfMemoryError e) {
                failure = e;
                LOG.errorf(e, "inference of a batch of %d failed", batch.claimed);
            }
            watchdog.finished(index, failure);
            batch.endNanos = System.nanoTime();
            if (failure == null) {
                runTimes.record(batch.endNanos - batch.startNanos);
            }
            finished.accept(batch, failure);
        }
    }

    /** Stops the threads after the batches already queued, waiting up to 30 s for each. */
    void close() {
        for (int i = 0; i < threads.size(); i++) {
            ready.add(END);
        }
        for (Thread thread : threads) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
