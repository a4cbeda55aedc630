package dev.sapienseg.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.fixtures.CocoMasks;

class PolygonTracerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aPixelIsASquareCounterClockwiseInItsOwnNumbers() {
        JsonNode geometry = trace(new byte[] {0, 0, 0, 0, 1, 0}, 3, 2, 1);
        assertEquals("MultiPolygon", geometry.get("type").asText());
        assertEquals("[[[[2,1],[2,2],[1,2],[1,1],[2,1]]]]", geometry.get("coordinates").toString());
        assertEquals(2, CocoMasks.doubleArea(geometry.get("coordinates").get(0).get(0)));
    }

    @Test
    void ringsFollowPixelEdgesSoTheirPixelsAreTheClassExactly() {
        Random random = new Random(3);
        for (int trial = 0; trial < 40; trial++) {
            int w = 1 + random.nextInt(40);
            int h = 1 + random.nextInt(40);
            byte[] map = new byte[w * h];
            for (int i = 0; i < map.length; i++) { // blobs, holes, islands, one-pixel lines, diagonal touches
                map[i] = (byte) (random.nextInt(3) == 0 ? random.nextInt(3) : i >= w ? map[i - w] : 0);
            }
            for (int label = 0; label < 3; label++) {
                JsonNode geometry = trace(map, w, h, label);
                assertArrayEquals(LabelRunsTest.expected(map, label), CocoMasks.rasterize(geometry, w, h),
                        "trial " + trial + " class " + label);
                for (JsonNode polygon : geometry.get("coordinates")) {
                    for (JsonNode ring : polygon) {
                        java.util.Set<String> corners = new java.util.HashSet<>();
                        for (int v = 0; v + 1 < ring.size(); v++) {
                            assertTrue(corners.add(ring.get(v).toString()), "a simple ring passes a corner once");
                        }
                    }
                    assertTrue(CocoMasks.doubleArea(polygon.get(0)) > 0, "the exterior ring is counter-clockwise");
                    for (int r = 1; r < polygon.size(); r++) {
                        assertTrue(CocoMasks.doubleArea(polygon.get(r)) < 0, "holes are clockwise");
                    }
                }
            }
        }
    }

    @Test
    void aHoleWithAnIslandInsideGivesTwoPolygonsTheFirstWithItsHole() {
        byte[] map = new byte[7 * 7];
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 7; x++) {
                boolean ring = x == 0 || y == 0 || x == 6 || y == 6 || x == 1 || y == 1 || x == 5 || y == 5;
                map[y * 7 + x] = (byte) (ring || (x == 3 && y == 3) ? 1 : 0);
            }
        }
        JsonNode coordinates = trace(map, 7, 7, 1).get("coordinates");
        assertEquals(2, coordinates.size(), "the frame and the island");
        assertEquals(2, coordinates.get(0).size(), "the frame has its hole");
        assertEquals(1, coordinates.get(1).size());
    }

    @Test
    void aRingThatTouchesItselfAtACornerIsSplitIntoAnExteriorAndAHole() {
        byte[] map = { // a C whose tips touch diagonally at the corner (3, 1): the gap is a hole touching the exterior
            1, 1, 1, 0,
            1, 0, 0, 1,
            1, 1, 1, 1};
        JsonNode coordinates = trace(map, 4, 3, 1).get("coordinates");
        assertEquals(1, coordinates.size());
        assertEquals(2, coordinates.get(0).size(), "the exterior and the hole");
        assertEquals("[[3,1],[1,1],[1,2],[3,2],[3,1]]", coordinates.get(0).get(1).toString());
        assertArrayEquals(LabelRunsTest.expected(map, 1), CocoMasks.rasterize(trace(map, 4, 3, 1), 4, 3));
    }

    @Test
    void aToleranceDropsCornersAndTheBudgetRefusesNoise() {
        int w = 200;
        byte[] disc = new byte[w * w];
        for (int i = 0; i < disc.length; i++) {
            int dx = i % w - 100;
            int dy = i / w - 100;
            disc[i] = (byte) (dx * dx + dy * dy < 80 * 80 ? 1 : 0);
        }
        long exact = PolygonTracer.trace(disc, w, 1, new int[] {0, 0, w, w}, 0, budget()).vertices();
        long simple = PolygonTracer.trace(disc, w, 1, new int[] {0, 0, w, w}, 1.5, budget()).vertices();
        assertTrue(simple * 4 < exact, exact + " corners, " + simple + " after simplification");

        byte[] noise = new byte[w * w];
        new Random(1).nextBytes(noise);
        for (int i = 0; i < noise.length; i++) {
            noise[i] &= 1;
        }
        SegmentationException e = assertThrows(SegmentationException.class, () -> PolygonTracer.trace(noise, w, 1,
                new int[] {0, 0, w, w}, 0, new PolygonTracer.Budget(10_000)));
        assertEquals(FailureReason.IMAGE_TOO_COMPLEX, e.reason());
        assertTrue(e.getMessage().contains("sapiens.shapes.max-vertices"), e.getMessage());
    }

    private static PolygonTracer.Budget budget() {
        return new PolygonTracer.Budget(Long.MAX_VALUE);
    }

    private static JsonNode trace(byte[] map, int w, int h, int label) {
        int minX = w;
        int minY = h;
        int maxX = -1;
        int maxY = -1;
        for (int i = 0; i < map.length; i++) {
            if (map[i] == label) {
                minX = Math.min(minX, i % w);
                maxX = Math.max(maxX, i % w);
                minY = Math.min(minY, i / w);
                maxY = Math.max(maxY, i / w);
            }
        }
        if (maxX < 0) {
            return JSON.valueToTree(new MultiPolygon(java.util.List.of()));
        }
        return JSON.valueToTree(PolygonTracer.trace(map, w, label,
                new int[] {minX, minY, maxX - minX + 1, maxY - minY + 1}, 0, budget()));
    }
}
