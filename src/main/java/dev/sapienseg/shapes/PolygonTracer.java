package dev.sapienseg.shapes;

import static org.bytedeco.opencv.global.opencv_core.CV_32S;
import static org.bytedeco.opencv.global.opencv_core.CV_32SC2;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgproc.approxPolyDP;
import static org.bytedeco.opencv.global.opencv_imgproc.connectedComponents;

import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.opencv.opencv_core.Mat;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * The polygons of one label of a label map along pixel edges ({@link MultiPolygon}): exact, so that the pixels whose
 * centres fall inside (even-odd) are the label's pixels, every one. OpenCV's {@code findContours} joins pixel
 * centres instead, which loses every part one pixel wide, hence this tracer.
 *
 * <p>Each ring follows the boundary edges with the label on its right (crack following); where two of the label's
 * pixels touch only at a corner, the ring turns away, so a polygon is a 4-connected component and rings never cross.
 * A ring that passes a corner twice is split there into simple loops (OGC's rule, which shapely and GEOS check);
 * counter-clockwise loops are exteriors, clockwise ones holes, and a hole belongs to the polygon of its 4-connected
 * component (OpenCV's {@code connectedComponents}) around it. Vertices are the corners where the ring turns.
 * A tolerance above 0 simplifies each ring with OpenCV's Douglas–Peucker ({@code approxPolyDP}); rings that collapse
 * below three vertices are dropped (with their holes, for an exterior ring).
 */
public final class PolygonTracer {

    private static final int[] DX = {1, 0, -1, 0}; // east, south, west, north (y grows downwards)
    private static final int[] DY = {0, 1, 0, -1};
    /** The pixel ahead on the left and on the right of a corner, per heading, relative to the corner. */
    private static final int[] LX = {0, 0, -1, -1};
    private static final int[] LY = {-1, 0, 0, -1};
    private static final int[] RX = {0, -1, -1, 0};
    private static final int[] RY = {0, 0, -1, -1};
    private static final int EAST = 0;
    private static final int WEST = 2;

    /** The vertices one picture's polygons may have together. */
    public static final class Budget {
        private final long max;
        private long used;

        public Budget(long max) {
            this.max = max;
        }

        void take(long n) {
            used += n;
            if (used > max) {
                throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "the class map's polygons have more"
                        + " than " + max + " vertices (sapiens.shapes.max-vertices); ask for rle or class-png instead");
            }
        }
    }

    private final byte[] inside;
    private final int width;
    private final int height;
    private final long[] visitedEast;
    private final long[] visitedWest;

    private PolygonTracer(byte[] inside, int width, int height) {
        this.inside = inside;
        this.width = width;
        this.height = height;
        int edges = (height + 1) * width;
        this.visitedEast = new long[(edges + 63) >>> 6];
        this.visitedWest = new long[(edges + 63) >>> 6];
    }

    /**
     * @param labels row-major, {@code mapWidth × mapHeight}
     * @param box the label's bounding box {@code x, y, width, height} (nothing of it lies outside)
     * @param tolerance Douglas–Peucker's distance in pixels; 0 keeps every corner
     */
    public static MultiPolygon trace(byte[] labels, int mapWidth, int label, int[] box, double tolerance,
            Budget budget) {
        int bx = box[0];
        int by = box[1];
        int w = box[2];
        int h = box[3];
        byte[] inside = new byte[Math.multiplyExact(w, h)];
        for (int y = 0; y < h; y++) {
            int row = (by + y) * mapWidth + bx;
            for (int x = 0; x < w; x++) {
                inside[y * w + x] = (byte) ((labels[row + x] & 0xFF) == label ? 1 : 0);
            }
        }
        List<List<int[]>> polygons = new PolygonTracer(inside, w, h).rings(budget, bx, by);
        return new MultiPolygon(tolerance > 0 ? simplified(polygons, tolerance) : polygons);
    }

    private List<List<int[]>> rings(Budget budget, int offsetX, int offsetY) {
        Map<Integer, List<List<int[]>>> byComponent = new HashMap<>();
        List<List<int[]>> polygons = new ArrayList<>();
        List<int[]> holes = new ArrayList<>(); // each: component, then the ring
        try (Mat mask = new Mat(height, width, CV_8UC1); Mat components = new Mat()) {
            mask.data().put(inside);
            connectedComponents(mask, components, 4, CV_32S);
            IntBuffer component = components.createBuffer();
            for (int y = 0; y <= height; y++) {
                for (int x = 0; x < width; x++) {
                    boolean above = in(x, y - 1);
                    boolean below = in(x, y);
                    int edge = y * width + x;
                    int[] ring;
                    int owner;
                    if (below && !above && !isSet(visitedEast, edge)) {
                        ring = ring(x, y, EAST, budget, offsetX, offsetY);
                        owner = component.get(y * width + x);
                    } else if (above && !below && !isSet(visitedWest, edge)) {
                        ring = ring(x + 1, y, WEST, budget, offsetX, offsetY);
                        owner = component.get((y - 1) * width + x);
                    } else {
                        continue;
                    }
                    for (int[] loop : simpleLoops(ring)) {
                        if (doubleArea(loop) > 0) {
                            List<int[]> polygon = new ArrayList<>();
                            polygon.add(loop);
                            polygons.add(polygon);
                            byComponent.computeIfAbsent(owner, k -> new ArrayList<>()).add(polygon);
                        } else {
                            int[] hole = new int[loop.length + 1];
                            hole[0] = owner;
                            System.arraycopy(loop, 0, hole, 1, loop.length);
                            holes.add(hole);
                        }
                    }
                }
            }
        }
        for (int[] hole : holes) {
            int[] loop = Arrays.copyOfRange(hole, 1, hole.length);
            List<List<int[]>> candidates = byComponent.get(hole[0]);
            List<int[]> parent = candidates.get(0);
            if (candidates.size() > 1) { // a component whose exterior touched itself: the one around the hole's edge
                double[] pixel = besideFirstEdge(loop);
                for (List<int[]> candidate : candidates) {
                    if (contains(candidate.get(0), pixel[0], pixel[1])) {
                        parent = candidate;
                    }
                }
            }
            parent.add(loop);
        }
        return polygons;
    }

    /**
     * A ring that passes a corner twice (where two of its pixels touch diagonally) split there into loops that pass
     * each corner once: OGC simple rings, as GeoJSON tools check. The edges stay the same, so the pixels inside do.
     */
    static List<int[]> simpleLoops(int[] ring) {
        Map<Long, Integer> at = new HashMap<>();
        int[] stack = new int[ring.length];
        int top = 0; // vertices on the stack
        List<int[]> loops = new ArrayList<>();
        for (int i = 0; i < ring.length; i += 2) {
            long key = ((long) ring[i] << 32) | (ring[i + 1] & 0xFFFFFFFFL);
            Integer seen = at.get(key);
            if (seen == null) {
                at.put(key, top);
                stack[2 * top] = ring[i];
                stack[2 * top + 1] = ring[i + 1];
                top++;
            } else {
                loops.add(Arrays.copyOfRange(stack, 2 * seen, 2 * top));
                for (int k = seen + 1; k < top; k++) {
                    at.remove(((long) stack[2 * k] << 32) | (stack[2 * k + 1] & 0xFFFFFFFFL));
                }
                top = seen + 1;
            }
        }
        loops.add(Arrays.copyOf(stack, 2 * top));
        return loops;
    }

    /** Twice the signed area: positive for an exterior (counter-clockwise in its own numbers). */
    static long doubleArea(int[] ring) {
        long sum = 0;
        for (int i = 0; i < ring.length; i += 2) {
            int j = (i + 2) % ring.length;
            sum += (long) ring[i] * ring[j + 1] - (long) ring[j] * ring[i + 1];
        }
        return sum;
    }

    /** The centre of the pixel on the right of the ring's first edge: one of the label's. */
    private static double[] besideFirstEdge(int[] ring) {
        int dx = Integer.signum(ring[2] - ring[0]);
        int dy = Integer.signum(ring[3] - ring[1]);
        return new double[] {ring[0] + 0.5 * dx - 0.5 * dy, ring[1] + 0.5 * dy + 0.5 * dx};
    }

    /** Even-odd test of a point against one ring. */
    private static boolean contains(int[] ring, double x, double y) {
        boolean in = false;
        for (int i = 0; i < ring.length; i += 2) {
            int j = (i + 2) % ring.length;
            if ((ring[i + 1] <= y) != (ring[j + 1] <= y)
                    && x < ring[i] + (y - ring[i + 1]) * (ring[j] - ring[i]) / (double) (ring[j + 1] - ring[i + 1])) {
                in = !in;
            }
        }
        return in;
    }

    /** One ring from corner {@code (sx, sy)}, first heading {@code start}. */
    private int[] ring(int sx, int sy, int start, Budget budget, int offsetX, int offsetY) {
        int[] xy = new int[16];
        int n = 0;
        int x = sx;
        int y = sy;
        int d = start;
        while (true) {
            if (d == EAST) {
                set(visitedEast, y * width + x);
            } else if (d == WEST) {
                set(visitedWest, y * width + x - 1);
            }
            x += DX[d];
            y += DY[d];
            int next = !in(x + RX[d], y + RY[d]) ? (d + 1) & 3 : !in(x + LX[d], y + LY[d]) ? d : (d + 3) & 3;
            boolean closed = x == sx && y == sy && next == start;
            if (next != d) {
                if (n + 2 > xy.length) {
                    xy = Arrays.copyOf(xy, xy.length * 2);
                }
                xy[n++] = x + offsetX;
                xy[n++] = y + offsetY;
                budget.take(1);
            }
            if (closed) {
                return Arrays.copyOf(xy, n);
            }
            d = next;
        }
    }

    private boolean in(int x, int y) {
        return x >= 0 && y >= 0 && x < width && y < height && inside[y * width + x] != 0;
    }

    private static boolean isSet(long[] bits, int i) {
        return (bits[i >>> 6] & (1L << i)) != 0;
    }

    private static void set(long[] bits, int i) {
        bits[i >>> 6] |= 1L << i;
    }

    private static List<List<int[]>> simplified(List<List<int[]>> polygons, double tolerance) {
        List<List<int[]>> out = new ArrayList<>();
        for (List<int[]> polygon : polygons) {
            List<int[]> rings = new ArrayList<>();
            for (int[] ring : polygon) {
                int[] simple = simplified(ring, tolerance);
                if (simple.length >= 6) {
                    rings.add(simple);
                } else if (rings.isEmpty()) {
                    break; // the exterior collapsed: so does the polygon
                }
            }
            if (!rings.isEmpty()) {
                out.add(rings);
            }
        }
        return out;
    }

    private static int[] simplified(int[] ring, double tolerance) {
        try (Mat curve = new Mat(ring.length / 2, 1, CV_32SC2); Mat approx = new Mat()) {
            curve.<IntBuffer>createBuffer().put(ring);
            approxPolyDP(curve, approx, tolerance, true);
            int[] out = new int[(int) approx.total() * 2];
            approx.<IntBuffer>createBuffer().get(out);
            return out;
        }
    }
}
