package dev.sapienseg.util;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

/**
 * The per-pixel loops of one picture (upsample+argmax, statistics, overlays), split over the common fork-join pool
 * only while no other picture's loop runs. A lone picture gets every core and its latency drops; under load the
 * cores already have a picture each, and splitting would only add fork-join bookkeeping and idle workers spinning
 * for tasks (measured at saturation: 18 % of the server's Java samples in {@code helpComplete}).
 */
public final class PictureLoops {

    /** Below this many pixels a split costs more than it saves. */
    public static final long SPLIT_MIN_PIXELS = 64 * 1024;

    private static final AtomicInteger RUNNING = new AtomicInteger();

    private PictureLoops() {
    }

    /** Runs {@code body} for each of {@code count} blocks covering {@code pixels} pixels, in any order. */
    public static void forEach(int count, long pixels, IntConsumer body) {
        int running = RUNNING.incrementAndGet();
        try {
            range(count, pixels, running).forEach(body);
        } finally {
            RUNNING.decrementAndGet();
        }
    }

    /** Rows {@code [from, to)} of a picture, handed to one task. */
    @FunctionalInterface
    public interface RowRange {
        void accept(int from, int to);
    }

    /**
     * Runs {@code body} over {@code [0, rows)}: when split, in about four ranges per pool thread of at least
     * {@code minChunk} rows; else in one range. A loop with per-task set-up (buffers) sets up once per range.
     */
    public static void forEachRange(int rows, int minChunk, long pixels, RowRange body) {
        int running = RUNNING.incrementAndGet();
        try {
            int tasks = 4 * (ForkJoinPool.getCommonPoolParallelism() + 1); // the caller helps too
            int chunk = Math.max(minChunk, (rows + tasks - 1) / tasks);
            if (running == 1 && pixels >= SPLIT_MIN_PIXELS && rows > chunk) {
                IntStream.range(0, (rows + chunk - 1) / chunk).parallel()
                        .forEach(task -> body.accept(task * chunk, Math.min(rows, (task + 1) * chunk)));
            } else {
                body.accept(0, rows);
            }
        } finally {
            RUNNING.decrementAndGet();
        }
    }

    /** The results of {@code body} for each of {@code count} blocks, in block order. */
    public static <T> T[] map(int count, long pixels, IntFunction<T> body, IntFunction<T[]> array) {
        int running = RUNNING.incrementAndGet();
        try {
            return range(count, pixels, running).mapToObj(body).toArray(array);
        } finally {
            RUNNING.decrementAndGet();
        }
    }

    private static IntStream range(int count, long pixels, int running) {
        IntStream range = IntStream.range(0, count);
        return running == 1 && pixels >= SPLIT_MIN_PIXELS ? range.parallel() : range;
    }
}
