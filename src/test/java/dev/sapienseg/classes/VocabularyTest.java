package dev.sapienseg.classes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.model.ModelFamily;

/** The class vocabularies of the model families, and the overlay blend of each against its own visualiser. */
class VocabularyTest {

    @Test
    void sapiens2InsertsEyeglassAtTwoAndShiftsTheRest() {
        Vocabulary v1 = Vocabulary.GOLIATH_28;
        Vocabulary v2 = Vocabulary.DOME_29;
        assertEquals(28, v1.names().size());
        assertEquals(29, v2.names().size());
        assertEquals("Eyeglass", v2.names().get(2));
        assertArrayEquals(new int[] {14, 204, 182}, v2.paletteRgb()[2]);
        for (int k = 0; k < 28; k++) {
            int id = k < 2 ? k : k + 1; // "v1 id k >= 2 is Sapiens2 id k + 1"
            assertEquals(v1.names().get(k), v2.names().get(id));
            assertArrayEquals(v1.paletteRgb()[k], v2.paletteRgb()[id]);
        }
        assertEquals(List.of("Background", "Foreground"), Vocabulary.FOREGROUND.names());
        assertEquals(Vocabulary.DOME_29, Vocabulary.of(ModelFamily.SAPIENS2));
        assertEquals(Vocabulary.GOLIATH_28, Vocabulary.of(ModelFamily.SAPIENS));
    }

    @Test
    void v1TruncatesAsSapiensLiteDoes() {
        assertEquals(127, Vocabulary.GOLIATH_28.blend(0, 255)); // trunc(127.5)
        assertEquals(1, Vocabulary.GOLIATH_28.blend(1, 2));
    }

    @Test
    void sapiens2RoundsAsCv2AddWeightedDoesForEveryPair(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("blend.npy");
        Process python = new ProcessBuilder("/usr/bin/python3", "src/test/python/sapiens2_reference.py", "blend",
                out.toString()).redirectErrorStream(true).start();
        String log = new String(python.getInputStream().readAllBytes());
        python.waitFor(120, TimeUnit.SECONDS);
        assertEquals(0, python.exitValue(), log);
        byte[] npy = Files.readAllBytes(out);
        int header = 10 + Short.toUnsignedInt(ByteBuffer.wrap(npy, 8, 2).order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort());
        assertEquals(header + 65536, npy.length, "a 256x256 uint8 array");
        int differ = 0;
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                if (Vocabulary.DOME_29.blend(a, b) != (npy[header + a * 256 + b] & 0xFF)) {
                    differ++;
                }
            }
        }
        assertEquals(0, differ, "pairs where the overlay differs from cv2.addWeighted");
    }
}
