package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.SampleImages;

/**
 * A folder run killed with SIGKILL at random points and run again ends with exactly the files of a run that was never
 * interrupted: no temporary file left behind, every output byte for byte (summaries up to their timings).
 */
@Tag("timing")
class SegmentCommandKillIT {

    private static final int PICTURES = 40;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void killedRunsRerunToTheFilesOfAnUninterruptedRun() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        for (int i = 0; i < PICTURES; i++) {
            Files.copy(i % 2 == 0 ? SampleImages.FIGURE_JPG : SampleImages.FIGURE_PNG,
                    in.resolve(String.format("p%02d.%s", i, i % 2 == 0 ? "jpg" : "png")));
        }
        long started = System.nanoTime();
        assertEquals(0, segment(in, dir.resolve("reference")).waitFor(), "the uninterrupted run");
        long whole = System.nanoTime() - started;
        Map<String, Object> reference = contents(dir.resolve("reference"));
        long seed = Long.getLong("kill.seed", System.nanoTime());
        Random random = new Random(seed);
        int interrupted = 0;
        for (int k = 0; k < 3; k++) {
            Path out = dir.resolve("killed-" + k);
            // Among the pictures' writes by construction, not by a share of a measured run (which a slow moment of the
            // machine moves): once a random number of summaries is written, after a random few milliseconds more.
            int written = 4 + random.nextInt(PICTURES - 12);
            long pause = random.nextInt(60);
            Process first = segment(in, out);
            long after = System.nanoTime();
            while (first.isAlive() && summaries(out) < written) {
                Thread.sleep(5);
            }
            Thread.sleep(pause);
            after = System.nanoTime() - after;
            if (first.isAlive()) {
                first.destroyForcibly().waitFor();
                long summaries = count(out, ".json");
                interrupted += summaries > 0 && summaries < PICTURES ? 1 : 0;
            }
            assertEquals(0, segment(in, out).waitFor(), "the rerun");
            Map<String, Object> rerun = contents(out);
            Set<String> differ = new TreeSet<>(reference.keySet());
            differ.addAll(rerun.keySet());
            differ.removeIf(name -> Objects.equals(reference.get(name), rerun.get(name)));
            assertEquals(Set.of(), differ, "files that differ from the uninterrupted run's (or exist in one only), killed"
                    + " after " + Duration.ofNanos(after).toMillis() + " ms of a " + Duration.ofNanos(whole).toMillis()
                    + " ms run (-Dkill.seed=" + seed + ")");
        }
        assertTrue(interrupted > 0, "no kill landed among the pictures' writes (-Dkill.seed=" + seed + ")");
    }

    /** Summaries written so far: names only (a walk would stat temporary files that a rename removes meanwhile). */
    private static long summaries(Path out) {
        String[] names = out.toFile().list();
        return names == null ? 0 : java.util.Arrays.stream(names).filter(n -> n.endsWith(".json")).count();
    }

    private static long count(Path root, String suffix) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.toString().endsWith(suffix)).count();
        }
    }

    private static Process segment(Path in, Path out) throws IOException {
        ProcessBuilder command = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", "target/quarkus-app/quarkus-run.jar", "segment", "--model", FixtureModels.PALETTE_DEMO.toString(),
                "--input", in.toString(), "--output", out.toString(), "--progress", "log")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        command.environment().put("OPENBLAS_NUM_THREADS", "1");
        return command.start();
    }

    /**
     * Every file below {@code root} by relative name: its size and hash, or for a summary its JSON without what differs
     * between runs by nature (timings, the size of the batch a picture happened to run in).
     */
    private static Map<String, Object> contents(Path root) throws IOException {
        Map<String, Object> files = new TreeMap<>();
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = new ArrayList<>(walk.filter(Files::isRegularFile).toList());
        }
        for (Path path : paths) {
            String name = root.relativize(path).toString();
            files.put(name, name.endsWith(".json") ? withoutTimings(JSON.readTree(path.toFile()))
                    : List.of(Files.size(path), java.util.Arrays.hashCode(Files.readAllBytes(path))));
        }
        assertTrue(files.size() > PICTURES, files.keySet().toString());
        return files;
    }

    private static JsonNode withoutTimings(JsonNode node) {
        if (node instanceof ObjectNode object) {
            object.remove(List.of("timings", "batchSize"));
            for (Iterator<JsonNode> values = object.elements(); values.hasNext();) {
                withoutTimings(values.next());
            }
        } else if (node.isArray()) {
            node.forEach(SegmentCommandKillIT::withoutTimings);
        }
        return node;
    }
}
