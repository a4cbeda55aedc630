package dev.sapienseg.batch;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reports a run: on a terminal a progress bar redrawn in place with images/s and ETA; otherwise (logs, CI, pipes)
 * a plain line every few seconds. Failures are printed as they happen and listed again at the end.
 */
public final class Progress {

    /** A picture that did not get its outputs, and why. */
    public record Failure(String image, String reason) {
    }

    private final int total;
    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private final long start = System.nanoTime();
    private final AtomicInteger segmented = new AtomicInteger();
    private final AtomicInteger skipped = new AtomicInteger();
    private final List<Failure> failures = new ArrayList<>();
    private long lastReport = System.nanoTime();

    public Progress(int total, PrintStream out, boolean terminal) {
        this.total = total;
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = terminal ? 200_000_000L : 5_000_000_000L;
    }

    public void segmented() {
        segmented.incrementAndGet();
        report(false);
    }

    public void skipped() {
        skipped.incrementAndGet();
        report(false);
    }

    public void failed(String image, String reason) {
        synchronized (this) {
            failures.add(new Failure(image, reason));
            if (terminal) {
                out.print("\r\033[K");
            }
            out.println("failed: " + image + ": " + reason);
        }
        report(true);
    }

    public int segmentedCount() {
        return segmented.get();
    }

    public int skippedCount() {
        return skipped.get();
    }

    public synchronized List<Failure> failures() {
        return List.copyOf(failures);
    }

    public double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    private synchronized void report(boolean force) {
        long now = System.nanoTime();
        int finished = segmented.get() + skipped.get() + failures.size();
        if (!force && now - lastReport < intervalNanos && finished < total) {
            return;
        }
        lastReport = now;
        double seconds = (now - start) / 1e9;
        double rate = seconds > 0 ? segmented.get() / seconds : 0;
        int remaining = total - finished;
        String eta = rate > 0 ? duration(remaining / rate) : "?";
        String counts = String.format("%d/%d  %.2f img/s  ETA %s  (%d skipped, %d failed)", finished, total, rate, eta,
                skipped.get(), failures.size());
        if (terminal) {
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) width * finished / total);
            out.print("\r\033[K[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + counts);
            if (finished >= total) {
                out.println();
            }
            out.flush();
        } else {
            out.println("progress: " + counts);
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s % 3600 / 60)
                : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
