package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.SampleImages;

/** The documented command line on the packaged application: {@code java -jar quarkus-run.jar segment …}. */
class SegmentCommandIT {

    @TempDir
    Path dir;

    @Test
    void packagedJarRunsTheBatchCommand() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.JPG"));
        Files.write(in.resolve("broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        Path out = dir.resolve("out");
        ProcessBuilder command = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", "target/quarkus-app/quarkus-run.jar", "segment", "--model", FixtureModels.PALETTE_DEMO.toString(),
                "--input", in.toString(), "--output", out.toString())
                .redirectErrorStream(true);
        command.environment().put("OPENBLAS_NUM_THREADS", "1");
        Process process = command.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS));
        assertEquals(1, process.exitValue(), output);
        assertTrue(output.contains("segmented 1, skipped 0 (outputs complete), failed 1"), output);
        for (String name : new String[] {"person.npy", "person_seg.npy", "person_seg.png", "person.JPG", "person.json"}) {
            assertTrue(Files.size(out.resolve(name)) > 0, name);
        }
    }
}
