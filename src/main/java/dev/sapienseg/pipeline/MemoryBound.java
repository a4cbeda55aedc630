package dev.sapienseg.pipeline;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;

import java.util.Set;

/**
 * The memory one request may take, estimated from its picture's header before anything is decoded, and the pod's
 * budget for all requests in flight together. Bytes per pixel of the original picture (P pixels), worst case
 * (incompressible content), counted from what the code allocates:
 * <ul>
 * <li>always, 16 P: the BGR picture (3 P), decoder working memory (up to 6 P: progressive JPEG coefficients, TIFF
 * strips at 16-bit depth), the class map (1 P), and 6 P for the encoded request and reply bytes on their way through
 * Funqy and Netty;</li>
 * <li>the class PNG, if asked for: 4 P (deflate output, its buffer's growth, its base64 in the reply);</li>
 * <li>the overlay, if asked for: 56 P — the side-by-side picture (6 P), OpenCV's encoding buffer, which grows by
 * doubling (12 P), its copy into Java (6 P native + 6 P heap), its base64 (8 P), the reply's bytes (8 P) and their
 * copy into Netty's buffers (10 P);</li>
 * <li>the selection mask, if asked for: 10 P (the grey picture, 1 P, counted through the same steps as the
 * overlay);</li>
 * <li>the cutout, if asked for: 38 P (the RGBA picture, 4 P, counted the same way).</li>
 * <li>the RLE, if asked for: the column-major copy (1 P) and {@value #BYTES_PER_RUN} bytes per run (its two counts,
 * their array's growth, about four characters of text through the builder, the string, the JSON and the reply), the
 * runs being at most P and at most {@code sapiens.shapes.max-runs};</li>
 * <li>the polygons, if asked for: a class's mask and its component labels (5 P), the traced edges, and
 * {@value #BYTES_PER_VERTEX} bytes per vertex ({@code [x,y],} of JSON through the same steps), at most P and at most
 * {@code sapiens.shapes.max-vertices};</li>
 * <li>the soft alpha, if asked for: 11 P (the grey picture, 1 P, counted as the selection mask); a soft cutout's alpha
 * when only the cutout is asked for: 1 P;</li>
 * <li>the raw logits, if asked for: their copy, 4 bytes per value of the model's output for one picture (22 MB for
 * 28 × 512 × 384), independent of the picture's size;</li>
 * <li>the instances, if asked for: 15 P of working pictures (the foreground, its component labels, the person map, the
 * distance transform's input, distances and labels), the grey PNG through the steps of the selection mask (10 P), and
 * the persons' runs as for the RLE.</li>
 * </ul>
 * So 76 P with the class PNG and the overlay (3.8 GB for a 50 MP picture, 230 MB for a 3 MP one), 124 P with
 * everything. The request body itself (at most
 * {@code quarkus.http.limits.max-body-size}, held twice while Funqy copies it) is read before admission and is
 * bounded by Knative's {@code containerConcurrency}, not by this budget. The budget counts the heap and native shares
 * together (about a third of it is Java heap), so a pod needs: the model's own memory + the JVM's baseline + the Java
 * heap's maximum + the budget. Measured ({@code MemoryBoundLoadTest}, 3 MP noise PNGs with class PNG and overlay, three
 * admitted at once, their estimates 678 MB together): memory outside the Java heap grew by 297 MB; with the selection mask
 * and cutout too (one admitted, estimate 363 MB): 70 MB.
 *
 * <p>Requests reserve their estimate before decoding and release it when answered: the sum over requests in flight
 * never exceeds the budget. A request that does not fit now is refused as overloaded (429, retryable); one that can
 * never fit (its estimate alone exceeds the budget) is refused permanently (413).
 */
public final class MemoryBound {

    static final long DECODE_BYTES_PER_PIXEL = 16;
    static final long CLASS_PNG_BYTES_PER_PIXEL = 4;
    static final long OVERLAY_BYTES_PER_PIXEL = 56;
    static final long SELECTION_MASK_BYTES_PER_PIXEL = 10;
    static final long CUTOUT_BYTES_PER_PIXEL = 38;
    static final long RLE_BYTES_PER_PIXEL = 1;
    static final long BYTES_PER_RUN = 48;
    static final long POLYGONS_BYTES_PER_PIXEL = 9;
    static final long BYTES_PER_VERTEX = 192;
    static final long INSTANCES_BYTES_PER_PIXEL = 30;
    static final long ALPHA_BYTES_PER_PIXEL = 11;

    private final long budget;
    private long reserved;

    public MemoryBound(long budgetBytes) {
        if (budgetBytes <= 0) {
            throw new IllegalArgumentException("memory budget must be positive: " + budgetBytes);
        }
        this.budget = budgetBytes;
    }

    /** {@link #estimate(long, long, OutputPlan, long)} without raw logits. */
    public static long estimate(long pixels, long encodedBytes, OutputPlan plan) {
        return estimate(pixels, encodedBytes, plan, 0);
    }

    /**
     * The worst-case bytes of one request for a picture of {@code pixels} encoded in {@code encodedBytes}.
     *
     * @param logitValues values of the model's output per picture (C × h × w), counted when the plan keeps them
     */
    public static long estimate(long pixels, long encodedBytes, OutputPlan plan, long logitValues) {
        // The .npy outputs are generated from the class map while they are written: no memory of their own.
        Set<OutputKind> outputs = plan.kinds();
        long perPixel = DECODE_BYTES_PER_PIXEL + (outputs.contains(OutputKind.CLASS_PNG) ? CLASS_PNG_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.OVERLAY) ? OVERLAY_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.SELECTION_MASK) ? SELECTION_MASK_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.CUTOUT) ? CUTOUT_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.RLE) ? RLE_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.POLYGONS) ? POLYGONS_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.INSTANCES) ? INSTANCES_BYTES_PER_PIXEL : 0)
                + (outputs.contains(OutputKind.ALPHA) ? ALPHA_BYTES_PER_PIXEL : plan.needsAlpha() ? 1 : 0);
        long runs = Math.min(pixels, plan.shapes().maxRuns()) * BYTES_PER_RUN;
        long shapes = (outputs.contains(OutputKind.RLE) ? runs : 0)
                + (outputs.contains(OutputKind.INSTANCES) ? runs : 0)
                + (outputs.contains(OutputKind.POLYGONS)
                        ? Math.min(pixels, plan.shapes().maxVertices()) * BYTES_PER_VERTEX : 0);
        long logits = outputs.contains(OutputKind.LOGITS_NPY) ? Math.multiplyExact(logitValues, 4) : 0;
        return Math.addExact(Math.multiplyExact(pixels, perPixel) + encodedBytes, shapes + logits);
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
