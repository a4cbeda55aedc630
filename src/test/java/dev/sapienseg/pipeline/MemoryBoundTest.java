package dev.sapienseg.pipeline;

import java.util.EnumSet;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.output.OutputPlanner;
import dev.sapienseg.shapes.ShapeOptions;

import dev.sapienseg.failure.SegmentationException;

import dev.sapienseg.failure.FailureReason;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MemoryBoundTest {

    @Test
    void theEstimateGrowsWithTheOutputsAskedFor() {
        long pixels = 1_000_000;
        assertEquals(16 * pixels + 500, MemoryBound.estimate(pixels, 500, plan(EnumSet.noneOf(OutputKind.class))));
        assertEquals(20 * pixels + 500, MemoryBound.estimate(pixels, 500, plan(EnumSet.of(OutputKind.CLASS_PNG))));
        assertEquals(76 * pixels + 500, MemoryBound.estimate(pixels, 500, plan(EnumSet.of(OutputKind.CLASS_PNG,
                OutputKind.OVERLAY))));
        assertEquals(124 * pixels + 500, MemoryBound.estimate(pixels, 500, plan(EnumSet.of(OutputKind.CLASS_PNG,
                OutputKind.OVERLAY, OutputKind.SELECTION_MASK, OutputKind.CUTOUT))));
    }

    @Test
    void shapesCountTheirRunsAndVerticesUpToTheirCaps() {
        long pixels = 1_000_000;
        ShapeOptions caps = new ShapeOptions(10_000, 20_000, 0, 0.002);
        assertEquals(17 * pixels + 10_000 * 48, MemoryBound.estimate(pixels, 0,
                new OutputPlan(EnumSet.of(OutputKind.RLE), null, caps, dev.sapienseg.output.Edges.HARD)),
                "1 P and 48 bytes per run, runs capped");
        assertEquals(25 * pixels + 20_000 * 192, MemoryBound.estimate(pixels, 0,
                new OutputPlan(EnumSet.of(OutputKind.POLYGONS), null, caps, dev.sapienseg.output.Edges.HARD)));
        assertEquals(46 * pixels + 10_000 * 48, MemoryBound.estimate(pixels, 0,
                new OutputPlan(EnumSet.of(OutputKind.INSTANCES), null, caps, dev.sapienseg.output.Edges.HARD)));
        assertEquals(16 * 100 + 100 * 48, MemoryBound.estimate(100, 0,
                new OutputPlan(EnumSet.of(OutputKind.RLE), null, caps, dev.sapienseg.output.Edges.HARD)) - 100,
                "no more runs than pixels");
    }

    @Test
    void theAlphaCountsItsPictureAndTheLogitsTheirCopy() {
        long pixels = 1_000_000;
        dev.sapienseg.classes.Selection hair = dev.sapienseg.classes.Selection.parse("hair", false,
                Vocabulary.GOLIATH_28);
        assertEquals(27 * pixels, MemoryBound.estimate(pixels, 0, new OutputPlan(EnumSet.of(OutputKind.ALPHA), hair)));
        assertEquals(55 * pixels, MemoryBound.estimate(pixels, 0, new OutputPlan(EnumSet.of(OutputKind.CUTOUT), hair,
                ShapeOptions.DEFAULTS, dev.sapienseg.output.Edges.SOFT)), "a soft cutout holds its alpha too");
        assertEquals(16 * pixels + 4L * 28 * 512 * 384, MemoryBound.estimate(pixels, 0,
                plan(EnumSet.of(OutputKind.LOGITS_NPY)), 28L * 512 * 384), "the logits, whatever the picture's size");
    }

    private static OutputPlan plan(EnumSet<OutputKind> kinds) {
        return new OutputPlanner(Vocabulary.GOLIATH_28, null, false).plan(kinds);
    }

    @Test
    void reservationsNeverExceedTheBudget() {
        MemoryBound bound = new MemoryBound(1000);
        MemoryBound.Reservation a = bound.reserve(600);
        SegmentationException busy = assertThrows(SegmentationException.class, () -> bound.reserve(500));
        assertEquals(FailureReason.OVERLOADED, busy.reason());
        MemoryBound.Reservation b = bound.reserve(400);
        assertEquals(1000, bound.reserved());
        a.close();
        a.close(); // idempotent
        assertEquals(400, bound.reserved());
        b.close();
        assertEquals(0, bound.reserved());
    }

    @Test
    void aRequestThatCanNeverFitIsPermanent() {
        SegmentationException never = assertThrows(SegmentationException.class,
                () -> new MemoryBound(1000).reserve(1001));
        assertEquals(FailureReason.TOO_MANY_PIXELS, never.reason());
        assertEquals(413, never.reason().httpStatus());
    }
}
