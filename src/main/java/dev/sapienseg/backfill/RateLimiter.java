package dev.sapienseg.backfill;

import java.time.Duration;

/** At most {@code rate} sends per second over all threads: each send takes the next slot, {@code 1/rate} s apart. */
final class RateLimiter {

    private final long intervalNanos;
    private long nextSlot;

    RateLimiter(double perSecond) {
        this.intervalNanos = (long) (1e9 / perSecond);
    }

    /** Takes the next free slot; returns how long the caller has to wait for it (zero or negative: it may go now). */
    Duration reserve() {
        long at;
        synchronized (this) {
            at = Math.max(System.nanoTime(), nextSlot);
            nextSlot = at + intervalNanos;
        }
        return Duration.ofNanos(at - System.nanoTime());
    }
}
