package dev.sapienseg.backfill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backfill's state file after a crash: a torn last line is neither a key nor a reason to refuse the file. */
class StateFileTest {

    @TempDir
    Path tmp;

    @Test
    void aLineTornByACrashIsDroppedAndTheNextKeyStartsItsOwnLine() throws Exception {
        // Killed while writing "photos/a.jpg.png": what reached the file reads like another key that was never sent.
        Path file = tmp.resolve("state.txt");
        Files.writeString(file, "photos/b.jpg\nphotos/a.jpg");
        StateFile state = StateFile.open(file);
        assertTrue(state.contains("photos/b.jpg"));
        assertFalse(state.contains("photos/a.jpg"), "a line without its line break was never recorded");
        state.record("photos/c.jpg");
        state.close();
        assertEquals(List.of("photos/b.jpg", "photos/c.jpg"), Files.readAllLines(file));
    }

    @Test
    void aWriteTornInsideAUtf8CharacterDoesNotMakeTheFileUnreadable() throws Exception {
        Path file = tmp.resolve("state.txt");
        byte[] cut = "photos/été.jpg\n".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("photos/b.jpg\n".getBytes(StandardCharsets.UTF_8));
        bytes.write(cut, 0, "photos/".length() + 1); // the first byte of "é" only
        Files.write(file, bytes.toByteArray());
        StateFile state = StateFile.open(file);
        assertTrue(state.contains("photos/b.jpg"));
        state.close();
        assertArrayEquals("photos/b.jpg\n".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(file));
        StateFile again = StateFile.open(file);
        again.record("photos/été.jpg");
        again.close();
        assertTrue(StateFile.open(file).contains("photos/été.jpg"));
    }
}
