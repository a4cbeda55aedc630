package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Tells liveness when the pod can no longer serve: a model run far past its expected time (a hung GPU kernel, a
 * deadlocked provider), or a session that failed irrecoverably (every run fails: the input tensors are always valid,
 * so consecutive failures mean the session, not the pictures). A restart is the cure for both; readiness would only
 * stop traffic and leave the pod stuck.
 */
public final class RunWatchdog {

    /** Consecutive failed runs (with no success between) that mark a session broken. */
    public static final int BROKEN_AFTER_FAILURES = 3;

    /** The least time a run may take before it counts as hung, whatever the warm-up measured. */
    public static final Duration MIN_STALL = Duration.ofSeconds(60);

    /** A run counts as hung past this many warm-up runs' time. */
    public static final int STALL_FACTOR = 20;

    private final AtomicLongArray runningSince; // per session, System.nanoTime() of the run's start; 0 when idle
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final LongAdder runs = new LongAdder();
    private final LongSupplier clock;
    /** The stall limit while no run has been measured (a model served without warm-up, before its first request). */
    public static final Duration UNMEASURED_STALL = Duration.ofMinutes(30);

    private volatile long stallNanos;
    private volatile RunTimes derivedFrom;
    private volatile String lastFailure;

    public RunWatchdog(int sessions, Duration stallAfter, LongSupplier clock) {
        this.runningSince = new AtomicLongArray(sessions);
        this.stallNanos = stallAfter.toNanos();
        this.clock = clock;
    }

    /**
     * A watchdog whose stall limit follows the measured runs: 20 times the median run, at least 60 s;
     * {@link #UNMEASURED_STALL} before any run is measured. {@link #stallAfter} fixes it instead.
     */
    public RunWatchdog(int sessions, RunTimes runs, LongSupplier clock) {
        this(sessions, UNMEASURED_STALL, clock);
        this.derivedFrom = runs;
    }

    /** The stall limit for a model whose warm-up run took {@code warmUpMillis}: 20 times that, at least 60 s. */
    public static Duration stallLimitFor(long warmUpMillis) {
        Duration derived = Duration.ofMillis(Math.multiplyExact(Math.max(1, warmUpMillis), (long) STALL_FACTOR));
        return derived.compareTo(MIN_STALL) > 0 ? derived : MIN_STALL;
    }

    public void stallAfter(Duration limit) {
        this.derivedFrom = null;
        this.stallNanos = limit.toNanos();
    }

    /** How long a run may take before it counts as hung. */
    public Duration stallLimit() {
        return Duration.ofNanos(stallNanos());
    }

    private long stallNanos() {
        RunTimes runs = derivedFrom;
        if (runs == null) {
            return stallNanos;
        }
        return runs.measured() ? stallLimitFor(Math.max(1, runs.median().toMillis())).toNanos() : UNMEASURED_STALL.toNanos();
    }

    void started(int session) {
        runningSince.set(session, Math.max(1, clock.getAsLong()));
    }

    void finished(int session, Throwable failure) {
        runningSince.set(session, 0);
        runs.increment();
        if (failure == null) {
            consecutiveFailures.set(0);
        } else {
            lastFailure = String.valueOf(failure.getMessage());
            consecutiveFailures.incrementAndGet();
        }
    }

    /** Model runs so far, failed ones included (Triton's execution count: with batching, fewer than pictures). */
    public long runs() {
        return runs.sum();
    }

    /** Sessions running a batch now. */
    public int running() {
        int n = 0;
        for (int i = 0; i < runningSince.length(); i++) {
            n += runningSince.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    /** Why the pod cannot serve, or null while it can. */
    public String problem() {
        if (consecutiveFailures.get() >= BROKEN_AFTER_FAILURES) {
            return consecutiveFailures.get() + " model runs in a row failed (last: " + lastFailure + ")";
        }
        long now = clock.getAsLong();
        for (int i = 0; i < runningSince.length(); i++) {
            long since = runningSince.get(i);
            long limit = stallNanos();
            if (since != 0 && now - since > limit) {
                return "a model run on session " + i + " has been running for " + (now - since) / 1_000_000_000L
                        + " s, past the limit of " + limit / 1_000_000_000L + " s";
            }
        }
        return null;
    }
}
