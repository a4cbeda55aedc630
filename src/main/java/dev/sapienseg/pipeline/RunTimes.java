package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.Arrays;

/**
 * How long the model takes: the median of the last {@value #WINDOW} batch runs, seeded with the warm-up run. Every
 * deadline that waits for the model derives from it ({@link Deadlines}), so a 1.4 GB model on a CPU (a minute per
 * picture) and a 1 MB one on a GPU (milliseconds) both get waits that fit their work.
 */
public final class RunTimes {

    /** Runs the median is taken over: long enough to ignore one slow run, short enough to follow a change of load. */
    public static final int WINDOW = 31;

    private final long[] recent = new long[WINDOW];
    private int count;
    private int next;
    private volatile long medianNanos;

    private volatile Runnable onFirstMeasure;

    /** @param firstRun the warm-up run, which stands in until real runs are measured; zero: no warm-up ran */
    public RunTimes(Duration firstRun) {
        if (!firstRun.isZero()) {
            record(Math.max(1, firstRun.toNanos()));
        }
    }

    /** Whether any run has been measured (a model loaded without warm-up has none until its first request). */
    public boolean measured() {
        return medianNanos > 0;
    }

    /** Runs {@code action} once, when the first run is measured (now, if one already is). */
    public void whenMeasured(Runnable action) {
        synchronized (this) {
            if (!measured()) {
                onFirstMeasure = action;
                return;
            }
        }
        action.run();
    }

    /** One batch run took {@code nanos}. */
    public synchronized void record(long nanos) {
        if (nanos <= 0) {
            return;
        }
        recent[next] = nanos;
        next = (next + 1) % WINDOW;
        count = Math.min(WINDOW, count + 1);
        long[] sorted = Arrays.copyOf(recent, count);
        Arrays.sort(sorted);
        medianNanos = count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
        Runnable first = onFirstMeasure;
        if (first != null) {
            onFirstMeasure = null;
            try {
                first.run(); // a few log lines: cheap enough for the inference thread
            } catch (RuntimeException e) {
                // a report must never fail a model run
            }
        }
    }

    /** The median of the recent runs (the warm-up run alone until the first request); zero while none is measured. */
    public Duration median() {
        return Duration.ofNanos(medianNanos);
    }
}
