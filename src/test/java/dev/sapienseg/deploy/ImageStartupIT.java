package dev.sapienseg.deploy;

import dev.sapienseg.fixtures.CloudEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    private static final Path PACKAGED = Path.of("target/quarkus-app").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void buildStepsPrepareAStartThatUsesThem() throws Exception {
        // A copy, as the image has one: the natives are removed from its ONNX Runtime jar (--strip-jar).
        Path app = dir.resolve("app");
        copyTree(PACKAGED, app);
        Path natives = dir.resolve("onnxruntime");
        Path javacpp = dir.resolve("javacpp-cache");
        Path archive = dir.resolve("app-cds.jsa");
        Map<String, String> env = Map.of("APP_DIR", app.toString(), "ORT_NATIVE_DIR", natives.toString(),
                "JAVACPP_CACHE_DIR", javacpp.toString(), "CDS_ARCHIVE", archive.toString(),
                "SAPIENS_MODEL_DEMO_PATH", FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(),
                "OPENBLAS_NUM_THREADS", "1", "TRAINING_PORT", "8093");

        Result extract = run(env, "deploy/extract-onnxruntime-natives.sh", app.toString(), natives.toString(),
                "--strip-jar");
        assertEquals(0, extract.code(), extract.output());
        assertTrue(Files.isRegularFile(natives.resolve("libonnxruntime.so")), extract.output());
        assertTrue(Files.isRegularFile(natives.resolve("libonnxruntime4j_jni.so")), extract.output());
        try (Stream<Path> jars = Files.list(app.resolve("lib/main"))) {
            Path ort = jars.filter(p -> p.getFileName().toString().startsWith("com.microsoft.onnxruntime")).findFirst()
                    .orElseThrow();
            try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(ort.toFile())) {
                assertTrue(zip.stream().noneMatch(e -> e.getName().startsWith("ai/onnxruntime/native/")),
                        "the jar keeps no natives");
                assertTrue(zip.getEntry("ai/onnxruntime/OrtSession.class") != null, "the jar keeps its classes");
            }
        }

        // The image's check: every library resolves (libonnxruntime.so's soname standing in for itself) ...
        Result resolves = run(env, "deploy/check-natives-resolve.sh", natives.toString(), "libonnxruntime.so");
        assertEquals(0, resolves.code(), resolves.output());
        // ... and it fails on what a GPU image without cuDNN would show: a library that needs one that is not there,
        // or a required provider that is missing.
        Path partial = Files.createDirectories(dir.resolve("partial"));
        Files.copy(natives.resolve("libonnxruntime4j_jni.so"), partial.resolve("libonnxruntime4j_jni.so"));
        Result unresolved = run(env, "deploy/check-natives-resolve.sh", partial.toString());
        assertEquals(1, unresolved.code(), unresolved.output());
        assertTrue(unresolved.output().contains("libonnxruntime.so.1 => not found"), unresolved.output());
        Result noCuda = run(env, "deploy/check-natives-resolve.sh", natives.toString(), "libonnxruntime_providers_cuda.so");
        assertEquals(1, noCuda.code(), noCuda.output());
        requiredSonamesMustBeCachedAndResolve(env, natives, partial.resolve("libonnxruntime4j_jni.so"));

        Result training = run(env, "deploy/training-run.sh", SampleImages.FIGURE_JPG.toAbsolutePath().toString());
        assertEquals(0, training.code(), training.output());
        assertTrue(training.output().matches("(?s).*segmented figure\\.jpg: HTTP/1\\.[01] 200.*"), training.output());
        // The tests' JVM decides: AppCDS before JDK 25, the AOT cache from 25 (aotCacheOnJdk25 covers that path).
        Path written = Runtime.version().feature() >= 25 ? app.resolve("app.aot") : archive;
        assertTrue(Files.size(written) > 1_000_000, "archive written: " + training.output());
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

        servesOnAReadOnlyRoot(env, in.resolve("person.jpg"));
        aotCacheOnJdk25(env, in);

        // Negative control: with no natives where the entry point says, ONNX Runtime cannot load.
        Map<String, String> empty = new java.util.HashMap<>(strict);
        empty.put("ORT_NATIVE_DIR", Files.createDirectories(dir.resolve("no-natives")).toString());
        Result broken = run(empty, "deploy/run-java.sh", "segment", "--model",
                FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(), "--input", in.toString(), "--output",
                dir.resolve("out2").toString());
        assertNotEquals(0, broken.code(), broken.output());
    }

    /**
     * REQUIRED_SONAMES, the libraries ONNX Runtime loads with dlopen (cuDNN; TensorRT's plugins): each must be in the
     * dynamic linker's cache and resolve its own dependencies. The last case puts a stand-in ldconfig first on the PATH
     * whose cache lists, as libnvinfer_plugin.so.10, a library that needs one that is not there.
     */
    private void requiredSonamesMustBeCachedAndResolve(Map<String, String> env, Path natives, Path unresolvable)
            throws Exception {
        Map<String, String> dlopened = new java.util.HashMap<>(env);
        dlopened.put("REQUIRED_SONAMES", "libc.so.6");
        Result cached = run(dlopened, "deploy/check-natives-resolve.sh", natives.toString(), "libonnxruntime.so");
        assertEquals(0, cached.code(), cached.output());
        assertTrue(cached.output().contains("so do libc.so.6"), cached.output());
        dlopened.put("REQUIRED_SONAMES", "libc.so.6 libsapiens-not-installed.so.10");
        Result uncached = run(dlopened, "deploy/check-natives-resolve.sh", natives.toString(), "libonnxruntime.so");
        assertEquals(1, uncached.code(), uncached.output());
        assertTrue(uncached.output().contains("libsapiens-not-installed.so.10 is not in the dynamic linker's cache"),
                uncached.output());

        Path alone = Files.createDirectories(dir.resolve("alone")); // no libonnxruntime.so to stand in for its soname
        Files.copy(natives.resolve("libonnxruntime.so"), alone.resolve("libother.so"));
        Path bin = Files.createDirectories(dir.resolve("stand-in-bin"));
        Files.writeString(bin.resolve("ldconfig"), "#!/bin/sh\nprintf '1 libs found in cache\\n"
                + "\\tlibnvinfer_plugin.so.10 (libc6,x86-64) => %s\\n' '" + unresolvable + "'\n");
        assertTrue(bin.resolve("ldconfig").toFile().setExecutable(true));
        dlopened.put("REQUIRED_SONAMES", "libnvinfer_plugin.so.10");
        dlopened.put("PATH", bin + ":" + Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH"));
        Result plugin = run(dlopened, "deploy/check-natives-resolve.sh", alone.toString());
        assertEquals(1, plugin.code(), plugin.output());
        assertTrue(plugin.output().contains("libnvinfer_plugin.so.10 (" + unresolvable + ") does not resolve"),
                plugin.output());
        assertTrue(plugin.output().contains("libonnxruntime.so.1 => not found"), plugin.output());
    }

    /**
     * knative/*: readOnlyRootFilesystem, with emptyDirs on /tmp and the model cache. The server starts through the
     * entry point in a mount namespace whose root is remounted read-only, with tmpfs where the pod has emptyDirs, and
     * segments a picture. Needs mount namespaces (root, as on CI); skipped where the kernel refuses them.
     */
    private void servesOnAReadOnlyRoot(Map<String, String> env, Path picture) throws Exception {
        Process probe = new ProcessBuilder("unshare", "-m", "true").redirectErrorStream(true).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "mount namespaces are not available here");
        Path tmp = Files.createDirectories(dir.resolve("ro-tmp"));
        Path cache = Files.createDirectories(dir.resolve("ro-cache"));
        int port = 8096;
        // Every mount read-only (a separate /tmp too, where the app's files are here), then tmpfs where the pod has
        // emptyDirs; the app's folders must refuse writes, or the check proves nothing.
        String script = String.join("\n", "set -e",
                "for m in $(awk '{print $2}' /proc/self/mounts | grep -Ev '^/(proc|sys|dev)(/|$)'); do",
                "  mount -o remount,bind,ro \"$m\" 2>/dev/null || [ \"$m\" != / ]",
                "done",
                "mount -t tmpfs tmpfs " + tmp,
                "mount -t tmpfs tmpfs " + cache,
                "for f in /read-only-root \"$APP_DIR/w\" \"$JAVACPP_CACHE_DIR/w\" \"$ORT_NATIVE_DIR/w\" \"$HOME/w\"; do",
                "  if touch \"$f\" 2>/dev/null; then echo \"writable: $f\"; exit 97; fi",
                "done",
                "exec " + Path.of("deploy/run-java.sh").toAbsolutePath());
        ProcessBuilder builder = new ProcessBuilder("unshare", "-m", "bash", "-c", script).redirectErrorStream(true)
                .redirectOutput(dir.resolve("ro-server.log").toFile());
        builder.environment().putAll(env);
        builder.environment().putAll(Map.of("JAVA_OPTS", "-Xshare:on -Djava.io.tmpdir=" + tmp, "QUARKUS_HTTP_PORT",
                String.valueOf(port), "SAPIENS_MODEL_CACHE_DIR", cache.toString(), "HOME", dir.toString()));
        builder.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH"));
        Process server = builder.start();
        try {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.net.URI base = java.net.URI.create("http://127.0.0.1:" + port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            int ready = 0;
            while (ready != 200 && server.isAlive() && System.nanoTime() < deadline) {
                try {
                    ready = http.send(java.net.http.HttpRequest.newBuilder(base.resolve("/q/health/ready")).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
                } catch (java.io.IOException notYet) {
                    Thread.sleep(200);
                }
            }
            String log = Files.readString(dir.resolve("ro-server.log"));
            assertEquals(200, ready, "not ready on a read-only root:\n" + log);
            java.net.http.HttpResponse<String> reply = http.send(java.net.http.HttpRequest.newBuilder(base)
                    .headers(CloudEvents.pairs(CloudEvents.IMAGE, "ro-1", "/test")).header("Content-Type", "image/jpeg")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofFile(picture)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, reply.statusCode(), reply.body());
            assertTrue(reply.body().contains("\"foregroundShare\""), reply.body());
        } finally {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
        assertNotEquals(97, server.exitValue(), "the root was writable: the check proved nothing");
    }

    /**
     * What the JVM images do on JDK 25: the training run writes an AOT cache instead of an AppCDS archive, and the entry
     * point uses it ({@code -XX:AOTMode=on}: the JVM refuses to start if it cannot). Where no JDK 25 is installed
     * (AOT_JAVA_HOME, default /usr/lib/jvm/temurin-25-jdk-amd64), skipped.
     */
    private void aotCacheOnJdk25(Map<String, String> env, Path in) throws Exception {
        Path jdk25 = Path.of(System.getenv().getOrDefault("AOT_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"));
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(jdk25.resolve("bin/java")), "no JDK 25 here");
        Path cache = dir.resolve("app.aot");
        Map<String, String> aot = new java.util.HashMap<>(env);
        aot.putAll(Map.of("AOT_CACHE", cache.toString(), "CDS_ARCHIVE", dir.resolve("unused.jsa").toString(),
                "PATH", jdk25.resolve("bin") + ":" + System.getenv("PATH")));
        Result training = run(aot, "deploy/training-run.sh", SampleImages.FIGURE_JPG.toAbsolutePath().toString());
        assertEquals(0, training.code(), training.output());
        assertTrue(Files.size(cache) > 1_000_000, "AOT cache written: " + training.output());
        assertFalse(Files.exists(dir.resolve("unused.jsa")), "no AppCDS archive on JDK 25");
        aot.put("JAVA_OPTS", "-XX:AOTMode=on");
        Result segment = run(aot, "deploy/run-java.sh", "segment", "--model",
                FixtureModels.PALETTE_DEMO.toAbsolutePath().toString(), "--input", in.toString(), "--output",
                dir.resolve("out-aot").toString());
        assertEquals(0, segment.code(), segment.output());
        assertTrue(Files.size(dir.resolve("out-aot/person_seg.npy")) > 0);
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private record Result(int code, String output) {
    }

    private static Result run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        if (!env.containsKey("PATH")) { // the JVM running the tests, unless the caller chose one
            builder.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":"
                    + System.getenv("PATH"));
        }
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
