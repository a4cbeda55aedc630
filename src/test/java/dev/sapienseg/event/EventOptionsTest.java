package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputSet;

/** What a reply may carry, per request and as the configured default (checked at start-up). */
class EventOptionsTest {

    private static final OutputSet DEFAULT = OutputSet.parse("class-png");

    @Test
    void theRequestOverridesTheDefault() {
        assertEquals(EnumSet.of(OutputKind.CLASS_PNG), EventOptions.parse(null, DEFAULT));
        assertEquals(EnumSet.of(OutputKind.CLASS_PNG), EventOptions.parse(" ", DEFAULT));
        assertEquals(EnumSet.of(OutputKind.OVERLAY), EventOptions.parse("overlay,summary", DEFAULT));
        assertEquals(EnumSet.noneOf(OutputKind.class), EventOptions.parse("none", DEFAULT));
    }

    @Test
    void npyFilesAndUnknownNamesAreBadOptions() {
        for (String bad : List.of("mask-npy", "class-npy", "mask", "depth")) {
            SegmentationException e = assertThrows(SegmentationException.class, () -> EventOptions.parse(bad, DEFAULT));
            assertEquals(FailureReason.BAD_OPTION, e.reason(), bad);
        }
    }

    @Test
    void aDefaultThatNoReplyCanCarryIsNamed() {
        assertNull(EventOptions.refused(OutputSet.parse("class-png,overlay,summary").kinds()));
        String refused = EventOptions.refused(OutputSet.parse("overlay,class-npy").kinds());
        assertTrue(refused != null && refused.contains("class-npy"), refused);
    }
}
