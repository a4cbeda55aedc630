package dev.sapienseg.classes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Groups, names and ids resolved against each family's classes; what is refused and why. */
class SelectionTest {

    private static List<Integer> ids(String expression, Vocabulary vocabulary) {
        return Selection.parse(expression, false, vocabulary).classIds();
    }

    @Test
    void groupsTakeTheirClassesInGoliathIds() {
        assertEquals(List.of(2, 23, 24, 25, 26, 27), ids("face", Vocabulary.GOLIATH_28));
        assertEquals(List.of(3), ids("hair", Vocabulary.GOLIATH_28));
        assertEquals(List.of(2, 3, 23, 24, 25, 26, 27), ids("head", Vocabulary.GOLIATH_28));
        assertEquals(List.of(1, 8, 9, 12, 17, 18, 22), ids("clothing", Vocabulary.GOLIATH_28));
        assertEquals(List.of(2, 4, 5, 6, 7, 10, 11, 13, 14, 15, 16, 19, 20, 21, 23, 24), ids("skin", Vocabulary.GOLIATH_28));
        assertEquals(List.of(0), ids("background", Vocabulary.GOLIATH_28));
        List<Integer> person = new ArrayList<>();
        for (int id = 1; id < 28; id++) {
            person.add(id);
        }
        assertEquals(person, ids("person", Vocabulary.GOLIATH_28));
        assertEquals(person, ids(null, Vocabulary.GOLIATH_28), "no selection is the person");
    }

    /** Sapiens2 inserts Eyeglass at 2: the same group names mean the moved ids, and the face takes the glasses. */
    @Test
    void groupsFollowSapiens2Ids() {
        assertEquals(List.of(2, 3, 24, 25, 26, 27, 28), ids("face", Vocabulary.DOME_29));
        assertEquals(List.of(4), ids("hair", Vocabulary.DOME_29));
        assertEquals(List.of(2), ids("eyeglass", Vocabulary.DOME_29));
        for (String group : Selection.GROUPS.keySet()) {
            for (int v1 : ids(group, Vocabulary.GOLIATH_28)) {
                int moved = v1 >= 2 ? v1 + 1 : v1;
                assertTrue(ids(group, Vocabulary.DOME_29).contains(moved), group + ": v1 id " + v1);
            }
        }
    }

    @Test
    void namesIdsAndGroupsCombine() {
        assertEquals(List.of(3, 22), ids("Upper_Clothing + hair", Vocabulary.GOLIATH_28));
        assertEquals(List.of(3, 22), ids("upper-clothing,3", Vocabulary.GOLIATH_28));
        assertEquals(List.of(5, 14), ids("hands", Vocabulary.GOLIATH_28));
        Selection s = Selection.parse(" Face + HAIR + face ", false, Vocabulary.GOLIATH_28);
        assertEquals("face+hair", s.expression());
        assertEquals(Selection.normalise(" Face + HAIR + face "), s.expression());
        assertEquals("person", Selection.normalise(""));
    }

    @Test
    void invertTakesEveryOtherClass() {
        Selection face = Selection.parse("face", true, Vocabulary.GOLIATH_28);
        assertTrue(face.invert());
        assertEquals(28 - 6, face.classIds().size());
        assertFalse(face.contains(2));
        assertTrue(face.contains(0));
        byte[] table = face.lookup();
        for (int id = 0; id < 256; id++) {
            boolean expected = id < 28 && !List.of(2, 23, 24, 25, 26, 27).contains(id);
            assertEquals(expected ? (byte) 255 : 0, table[id], "id " + id);
        }
        assertEquals(List.of(0), Selection.parse("person", true, Vocabulary.GOLIATH_28).classIds());
    }

    @Test
    void theForegroundModelHasOnlyThePersonAndTheBackground() {
        assertEquals(List.of(1), ids("person", Vocabulary.FOREGROUND));
        assertEquals(List.of(1), ids("foreground", Vocabulary.FOREGROUND));
        assertEquals(List.of("person", "background"), Selection.groupsOf(Vocabulary.FOREGROUND));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Selection.parse("hair", false, Vocabulary.FOREGROUND));
        assertTrue(e.getMessage().contains("unknown selection 'hair' for foreground classes"), e.getMessage());
        assertTrue(e.getMessage().contains("person, background"), e.getMessage());
    }

    @Test
    void badEntriesAreNamed() {
        Map<String, String> bad = Map.of(
                "halo", "unknown selection 'halo'",
                "28", "unknown selection '28'",
                "face++hair", "empty entry",
                "eyeglass", "unknown selection 'eyeglass' for goliath-28",
                "-1", "unknown selection '-1'",
                "x".repeat(600), "longer than 512");
        bad.forEach((expression, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Selection.parse(expression, false, Vocabulary.GOLIATH_28), expression);
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Selection.parse("halo\u001b[31m", false, Vocabulary.GOLIATH_28));
        assertFalse(e.getMessage().contains("\u001b"), "caller text is made log-safe: " + e.getMessage());
    }

    @Test
    void idsOutsideTheVocabularyAreNeverSelected() {
        byte[] inverted = Selection.parse("face", true, Vocabulary.GOLIATH_28).lookup();
        assertEquals((byte) 255, inverted[21]);
        assertEquals(0, inverted[200], "200 is no class of the vocabulary: even an inverted selection leaves it out");
    }
}
