package dev.sapienseg.pipeline;

/**
 * The memory one request may take, estimated from its picture's header before anything is decoded, and the pod's
 * budget for all requests in flight together. Bytes per pixel of the original picture (P pixels), worst case
 * (incompressible content):
 * <ul>
 * <li>decoding: 3 P for the BGR picture, up to 6 P of decoder working memory (progressive JPEG coefficients, TIFF
 * strips at 16-bit depth), plus the encoded bytes copied to native memory;</li>
 * <li>post-processing: 1 P class map (the logits and the model input live in the batch's preallocated buffers);</li>
 * <li>the class-map PNG, if asked for: up to 1 P of deflate output, its buffer growth and its base64 in the reply,
 * 4 P;</li>
 * <li>the overlay, if asked for: 6 P for the side-by-side picture, up to 6 P for its encoding (PNG of noise) in native
 * memory, 6 P as a Java array, 8 P as base64 in the reply and 8 P for the reply's bytes: 34 P.</li>
 * </ul>
 * So 10 P + 4 P (mask) + 34 P (overlay): 48 P with everything, 2.4 GB for a 50 MP picture. The request body itself (at
 * most {@code quarkus.http.limits.max-body-size}, held twice while Funqy copies it) is read before admission and
 * is bounded by Knative's {@code containerConcurrency}, not by this budget.
 *
 * <p>Requests reserve their estimate before decoding and release it when answered: the sum over requests in flight
 * never exceeds the budget. A request that does not fit now is refused as overloaded (429, retryable); one that can
 * never fit (its estimate alone exceeds the budget) is refused permanently (413).
 */
public final class MemoryBound {

    static final long DECODE_BYTES_PER_PIXEL = 10;
    static final long MASK_BYTES_PER_PIXEL = 4;
    static final long OVERLAY_BYTES_PER_PIXEL = 34;

    private final long budget;
    private long reserved;

    public MemoryBound(long budgetBytes) {
        if (budgetBytes <= 0) {
            throw new IllegalArgumentException("memory budget must be positive: " + budgetBytes);
        }
        this.budget = budgetBytes;
    }

    /** The worst-case bytes of one request for a picture of {@code pixels} encoded in {@code encodedBytes}. */
    public static long estimate(long pixels, long encodedBytes, OutputRequest outputs) {
        long perPixel = DECODE_BYTES_PER_PIXEL + (outputs.mask() ? MASK_BYTES_PER_PIXEL : 0)
                + (outputs.overlay() ? OVERLAY_BYTES_PER_PIXEL : 0);
        return Math.multiplyExact(pixels, perPixel) + encodedBytes;
    }

    public long budget() {
        return budget;
    }

    public synchronized long reserved() {
        return reserved;
    }

    /** Reserves {@code bytes} or throws: 413 if they can never fit, 429 if they do not fit now. */
    public synchronized Reservation reserve(long bytes) {
        if (bytes > budget) {
            throw new SegmentationException(FailureReason.TOO_MANY_PIXELS, "this picture needs up to " + mb(bytes)
                    + " MB with the outputs asked for, more than the pod's memory budget of " + mb(budget)
                    + " MB (sapiens.limits.memory-budget); send a smaller picture or ask for fewer pictures back");
        }
        if (reserved + bytes > budget) {
            throw new SegmentationException(FailureReason.OVERLOADED, "the pod's memory budget is taken by the pictures"
                    + " in flight; retry later");
        }
        reserved += bytes;
        return new Reservation(bytes);
    }

    private synchronized void release(long bytes) {
        reserved -= bytes;
    }

    private static long mb(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    /** Bytes held by one request; closed when it is answered. */
    public final class Reservation implements AutoCloseable {
        private final long bytes;
        private boolean closed;

        private Reservation(long bytes) {
            this.bytes = bytes;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                release(bytes);
            }
        }
    }
}
