package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.SampleImages;

/**
 * The image build steps of deploy/Dockerfile.* run here on the packaged app, as the Dockerfiles run them: unpack ONNX
 * Runtime's natives, make the AppCDS archive with a training run, then start through the entry point. Proves that the
 * app really uses the unpacked natives (nothing is extracted to the temp folder; an empty natives folder fails) and
 * that the JVM can map the archive ({@code -Xshare:on} refuses to start otherwise).
 */
class ImageStartupIT {

    private static final Path APP = Path.of("target/quarkus-app").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void buildStepsPrepareAStartThatUsesThem() throws Exception {
        Path natives = dir.resolve("onnxruntime");
        Path javacpp = dir.resolve("javacpp-cache");
        Path archive = dir.resolve("app-cds.jsa");
        Map<String, String> env = Map.of("APP_DIR", APP.toString(), "ORT_NATIVE_DIR", natives.toString(),
                "JAVACPP_CACHE_DIR", javacpp.toString(), "CDS_ARCHIVE", archive.toString(),
                "SAPIENS_MODEL_DEMO_PATH", FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(),
                "OPENBLAS_NUM_THREADS", "1", "TRAINING_PORT", "8093");

        Result extract = run(env, "deploy/extract-onnxruntime-natives.sh", APP.toString(), natives.toString());
        assertEquals(0, extract.code(), extract.output());
        assertTrue(Files.isRegularFile(natives.resolve("libonnxruntime.so")), extract.output());
        assertTrue(Files.isRegularFile(natives.resolve("libonnxruntime4j_jni.so")), extract.output());

        Result training = run(env, "deploy/training-run.sh", SampleImages.FIGURE_JPG.toAbsolutePath().toString());
        assertEquals(0, training.code(), training.output());
        assertTrue(training.output().matches("(?s).*segmented figure\\.jpg: HTTP/1\\.[01] 200.*"), training.output());
        assertTrue(Files.size(archive) > 1_000_000, "AppCDS archive written");
        assertTrue(hasFiles(javacpp), "OpenCV natives left in JavaCPP's cache");

        // The entry point, with the archive required and an empty temp folder: the batch command segments a picture.
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.jpg"));
        Map<String, String> strict = new java.util.HashMap<>(env);
        strict.put("JAVA_OPTS", "-Xshare:on -Djava.io.tmpdir=" + tmp);
        Result segment = run(strict, "deploy/run-java.sh", "segment", "--model",
                FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(), "--input", in.toString(), "--output",
                dir.resolve("out").toString());
        assertEquals(0, segment.code(), segment.output());
        assertTrue(Files.size(dir.resolve("out/person_seg.npy")) > 0);
        assertEquals(List.of(), list(tmp), "ONNX Runtime must load from ORT_NATIVE_DIR, not unpack itself");

        // Negative control: with no natives where the entry point says, ONNX Runtime cannot load.
        Map<String, String> empty = new java.util.HashMap<>(strict);
        empty.put("ORT_NATIVE_DIR", Files.createDirectories(dir.resolve("no-natives")).toString());
        Result broken = run(empty, "deploy/run-java.sh", "segment", "--model",
                FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(), "--input", in.toString(), "--output",
                dir.resolve("out2").toString());
        assertNotEquals(0, broken.code(), broken.output());
    }

    private record Result(int code, String output) {
    }

    private static Result run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        builder.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":"
                + System.getenv("PATH"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(180, TimeUnit.SECONDS), output);
        return new Result(process.exitValue(), output);
    }

    private static boolean hasFiles(Path folder) throws Exception {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.anyMatch(p -> p.getFileName().toString().contains("opencv"));
        }
    }

    private static List<String> list(Path folder) throws Exception {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
