package dev.sapienseg.backfill;

import java.io.PrintStream;

/**
 * Reports a backfill as it goes: on a terminal one line redrawn in place, otherwise (a Job's log) a plain line every
 * ten seconds. The total is not known in advance (the listing is read page by page), so it shows counts and a rate.
 */
public final class BackfillProgress {

    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private long last = System.nanoTime();

    public BackfillProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = terminal ? 200_000_000L : 10_000_000_000L;
    }

    synchronized void report(Backfill.Counts counts, boolean force) {
        long now = System.nanoTime();
        if (!force && now - last < intervalNanos) {
            return;
        }
        last = now;
        double seconds = counts.seconds();
        String line = String.format(java.util.Locale.ROOT, "listed %d  sent %d  skipped %d  failed %d  %.1f/s  %s",
                counts.listed(), counts.sent() + counts.wouldSend(), counts.skipped(), counts.failed(),
                seconds > 0 ? counts.sent() / seconds : 0, elapsed(seconds));
        if (terminal) {
            out.print("\r\033[K" + line);
            out.flush();
        } else {
            out.println(line);
        }
    }

    synchronized void done() {
        if (terminal) {
            out.println();
        }
    }

    private static String elapsed(double seconds) {
        long s = (long) seconds;
        return String.format(java.util.Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}
