package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.logging.LogSafe;

/** The shared escaper for caller-supplied text in log lines and headers. */
class LogSafeTest {

    @Test
    void controlCharactersCannotSplitOrRewriteALine() {
        assertEquals("a.jpg\\r\\n2026 INFO forged", LogSafe.of("a.jpg\r\n2026 INFO forged"));
        assertEquals("tab\\there \\u001b[2J bell\\u0007 nel\\u0085 ls\\u2028 bidi\\u202e", LogSafe.of(
                "tab\there \u001b[2J bell\u0007 nel\u0085 ls\u2028 bidi\u202e"));
        assertEquals("back\\\\slash \\\\n", LogSafe.of("back\\slash \\n"), "escapes stay unambiguous");
        assertEquals("photos/caf\u00e9 \u4e2d.jpg", LogSafe.of("photos/caf\u00e9 \u4e2d.jpg"), "ordinary text is kept");
        assertEquals("null", LogSafe.of(null));
    }

    @Test
    void lengthAndListsAreBounded() {
        String shown = LogSafe.of("k".repeat(5000));
        assertTrue(shown.length() < LogSafe.MAX_CHARS + 30, shown);
        assertTrue(shown.endsWith("(4744 more)"), shown);
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            many.add("reason " + i + "\n");
        }
        String list = LogSafe.list(many, 3);
        assertEquals("reason 0\\n; reason 1\\n; reason 2\\n; …and 997 more", list);
    }
}
