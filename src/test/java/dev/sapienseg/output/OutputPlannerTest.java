package dev.sapienseg.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/** The one set of rules every adapter's choice of outputs and selection goes through. */
class OutputPlannerTest {

    private final OutputPlanner goliath = new OutputPlanner(Vocabulary.GOLIATH_28, "person", false);

    @Test
    void theReportIsAlwaysMadeSoSummaryIsNoKind() {
        OutputPlan plan = goliath.plan(EnumSet.of(OutputKind.CLASS_PNG, OutputKind.SUMMARY));
        assertEquals(EnumSet.of(OutputKind.CLASS_PNG), plan.kinds());
        assertNull(plan.selection(), "no selective output, no selection");
        assertFalse(plan.selective());
    }

    @Test
    void aSelectiveOutputWithoutASelectionShowsTheDefault() {
        OutputPlanner clothes = new OutputPlanner(Vocabulary.GOLIATH_28, "clothing", true);
        OutputPlan plan = clothes.plan(EnumSet.of(OutputKind.CUTOUT));
        assertEquals(clothes.defaultSelection(), plan.selection());
        assertTrue(plan.selection().invert());
    }

    @Test
    void aNamedSelectionAddsTheMaskOnlyWhenNoSelectiveOutputIsPlanned() {
        OutputPlan added = goliath.plan(EnumSet.of(OutputKind.OVERLAY), "hair", null);
        assertEquals(EnumSet.of(OutputKind.OVERLAY, OutputKind.SELECTION_MASK), added.kinds());
        assertEquals("hair", added.selection().expression());

        OutputPlan kept = goliath.plan(EnumSet.of(OutputKind.CUTOUT), "hair", null);
        assertEquals(EnumSet.of(OutputKind.CUTOUT), kept.kinds());
    }

    @Test
    void invertAloneInvertsTheDefaultsClasses() {
        OutputPlan plan = goliath.plan(EnumSet.of(OutputKind.SELECTION_MASK), null, true);
        assertEquals(List.of(0), plan.selection().classIds(), "everything but the person: the background");
        assertEquals(Selection.DEFAULT, plan.selection().expression());
    }

    @Test
    void theSelectionIsResolvedAgainstTheServedVocabulary() {
        OutputPlanner sapiens2 = new OutputPlanner(Vocabulary.DOME_29, null, false);
        assertEquals(List.of(2, 3, 24, 25, 26, 27, 28),
                sapiens2.plan(EnumSet.noneOf(OutputKind.class), "face", null).selection().classIds(),
                "Sapiens2's face takes the eyeglasses (id 2), everything after them one id up");
        assertEquals(List.of(2, 23, 24, 25, 26, 27),
                goliath.plan(EnumSet.noneOf(OutputKind.class), "face", null).selection().classIds());
    }

    @Test
    void aSelectionTheModelCannotMeetIsABadOptionNamingTheEntry() {
        SegmentationException e = assertThrows(SegmentationException.class,
                () -> goliath.plan(EnumSet.of(OutputKind.CUTOUT), "hair+wings", null));
        assertEquals(FailureReason.BAD_OPTION, e.reason());
        assertTrue(e.getMessage().contains("'wings'"), e.getMessage());
    }

    @Test
    void aDefaultTheModelCannotMeetIsRefusedWhenThePlannerIsMade() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OutputPlanner(Vocabulary.GOLIATH_28, "eyeglass", false));
        assertTrue(e.getMessage().contains("eyeglass"), e.getMessage());
    }

    @Test
    void aPlanKeepsItsSelectionAndItsSelectiveOutputsTogether() {
        assertThrows(IllegalArgumentException.class, () -> new OutputPlan(EnumSet.of(OutputKind.CUTOUT), null));
        assertThrows(IllegalArgumentException.class, () -> new OutputPlan(EnumSet.of(OutputKind.CLASS_PNG),
                goliath.defaultSelection()));
    }
}
