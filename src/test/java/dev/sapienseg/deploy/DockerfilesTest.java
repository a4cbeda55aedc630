package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a Dockerfile copies from the build context must exist and must not be excluded by .dockerignore (the classic
 * way an image build breaks after a clean-up); the profiles and stages its VARIANT argument selects must exist; the
 * scripts it runs must be executable. No Docker engine runs here, so this is as far as the files can be checked.
 */
class DockerfilesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();

    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void contextCopiesExistAndAreNotIgnored(String dockerfile) throws IOException {
        List<String> lines = instructions(dockerfile);
        DockerIgnore ignore = DockerIgnore.read(ROOT.resolve(".dockerignore"));
        int checked = 0;
        for (String line : lines) {
            if (!line.startsWith("COPY ") || line.contains("--from=")) {
                continue;
            }
            List<String> parts = new ArrayList<>(List.of(line.substring(5).trim().split("\\s+")));
            parts.removeIf(p -> p.startsWith("--"));
            for (String source : parts.subList(0, parts.size() - 1)) {
                List<Path> matches = expand(source);
                assertFalse(matches.isEmpty(), dockerfile + " copies " + source + ", which does not exist");
                for (Path match : matches) {
                    String relative = ROOT.relativize(match).toString();
                    assertFalse(ignore.excludes(relative), dockerfile + " copies " + relative + ", which .dockerignore excludes");
                    checked++;
                }
            }
        }
        assertTrue(checked >= 5, "found the COPY instructions");
    }

    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void variantsSelectExistingProfilesAndStages(String dockerfile) throws IOException {
        String text = String.join("\n", instructions(dockerfile));
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        assertTrue(text.contains("-P${VARIANT}"), "the build uses the variant's Maven profile");
        for (String variant : new String[] {"gpu", "cpu"}) {
            assertTrue(pom.contains("<id>" + variant + "</id>"), "pom.xml has a " + variant + " profile");
            assertTrue(text.contains(" AS runtime-" + variant), dockerfile + " has a runtime-" + variant + " stage");
        }
        assertTrue(text.contains("FROM runtime-${VARIANT}"));
        assertTrue(text.contains("USER 1001"), "runs as non-root");
        Matcher entry = Pattern.compile("ENTRYPOINT \\[\"/opt/sapiens/([^\"]+)\"]").matcher(text);
        assertTrue(entry.find());
        assertTrue(Files.isExecutable(ROOT.resolve("deploy").resolve(entry.group(1))));
        Matcher runs = Pattern.compile("RUN (?:/opt/sapiens|deploy)/([\\w.-]+\\.sh)").matcher(text);
        int scripts = 0;
        while (runs.find()) {
            assertTrue(Files.isExecutable(ROOT.resolve("deploy").resolve(runs.group(1))), runs.group(1));
            scripts++;
        }
        assertEquals(3, scripts, "extracts the natives, checks that they resolve, makes a training run");
    }

    /**
     * The image build fails when ONNX Runtime's natives (the CUDA provider on GPU images) need a library the image lacks,
     * after everything is in place; the JVM image ships the natives once (unpacked, and removed from the jar).
     */
    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void nativesAreCheckedToResolveInTheRuntimeImage(String dockerfile) throws IOException {
        List<String> lines = instructions(dockerfile);
        String gpuStage = stage(lines, "runtime-gpu");
        String cpuStage = stage(lines, "runtime-cpu");
        assertTrue(gpuStage.matches("(?s).*ORT_REQUIRED_NATIVES=\"[^\"]*libonnxruntime_providers_cuda\\.so[^\"]*\".*"),
                gpuStage);
        assertTrue(cpuStage.contains("ORT_REQUIRED_NATIVES=\"libonnxruntime.so libonnxruntime4j_jni.so\""), cpuStage);
        assertTrue(gpuStage.contains("REQUIRED_SONAMES=\"libcudnn.so.9\""), "cuDNN is loaded with dlopen: ldd cannot see it");
        int check = lines.indexOf("RUN /opt/sapiens/check-natives-resolve.sh /opt/onnxruntime $ORT_REQUIRED_NATIVES");
        assertTrue(check > lines.indexOf("FROM runtime-${VARIANT}"), "checked in the runtime image");
        assertTrue(check > lines.stream().filter(l -> l.startsWith("COPY --from=") && l.contains("/opt/onnxruntime"))
                .mapToInt(lines::indexOf).max().orElse(Integer.MAX_VALUE), "after the natives are copied in");
        if (dockerfile.endsWith(".jvm")) {
            assertTrue(lines.contains("RUN deploy/extract-onnxruntime-natives.sh target/quarkus-app /opt/onnxruntime"
                    + " --strip-jar"), "the natives are shipped once");
        }
    }

    private static String stage(List<String> lines, String name) {
        StringBuilder text = new StringBuilder();
        boolean in = false;
        for (String line : lines) {
            if (line.startsWith("FROM ")) {
                in = line.endsWith(" AS " + name);
            }
            if (in) {
                text.append(line).append('\n');
            }
        }
        return text.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"src/test/java/Foo.java", "target/quarkus-app/quarkus-run.jar", ".git/config",
            "models/fixtures/sapiens-tiny-vit.onnx", "samples/figure.png"})
    void heavyOrTestOnlyFilesStayOutOfTheContext(String path) throws IOException {
        assertTrue(DockerIgnore.read(ROOT.resolve(".dockerignore")).excludes(path), path);
    }

    /** Instructions with line continuations joined and comments dropped. */
    private static List<String> instructions(String dockerfile) throws IOException {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : Files.readAllLines(ROOT.resolve(dockerfile))) {
            String line = raw.strip();
            if (line.startsWith("#") || line.isEmpty()) {
                continue;
            }
            if (line.endsWith("\\")) {
                current.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            out.add(current.append(line).toString());
            current.setLength(0);
        }
        return out;
    }

    private static List<Path> expand(String source) throws IOException {
        if (!source.contains("*")) {
            Path path = ROOT.resolve(source);
            return Files.exists(path) ? List.of(path) : List.of();
        }
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + source);
        try (Stream<Path> files = Files.walk(ROOT.resolve(source.substring(0, source.lastIndexOf('/'))), 1)) {
            return files.filter(p -> matcher.matches(ROOT.relativize(p))).toList();
        }
    }

    /** Docker's rules: patterns in order, the last one that matches a path or one of its parents decides. */
    record DockerIgnore(List<String> patterns) {
        static DockerIgnore read(Path file) throws IOException {
            return new DockerIgnore(Files.readAllLines(file).stream().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList());
        }

        boolean excludes(String path) {
            boolean excluded = false;
            for (String pattern : patterns) {
                boolean include = pattern.startsWith("!");
                String glob = include ? pattern.substring(1) : pattern;
                if (glob.endsWith("/")) {
                    glob = glob.substring(0, glob.length() - 1);
                }
                Pattern regex = Pattern.compile(glob.replace(".", "\\.").replace("**", "\u0000").replace("*", "[^/]*")
                        .replace("\u0000", ".*").replace("?", "[^/]") + "(/.*)?");
                if (regex.matcher(path).matches()) {
                    excluded = !include;
                }
            }
            return excluded;
        }
    }
}
