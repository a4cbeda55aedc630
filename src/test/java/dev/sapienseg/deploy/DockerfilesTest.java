package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
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
        List<String> lines = instructions(dockerfile);
        String text = String.join("\n", lines);
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        List<String> variants = variants(lines);
        assertTrue(variants.containsAll(List.of("gpu", "cpu")), dockerfile + " has runtime-gpu and -cpu: " + variants);
        for (String variant : variants) {
            String profile = mavenProfile(lines, variant);
            assertTrue(pom.contains("<id>" + profile + "</id>"), "pom.xml has " + variant + "'s profile " + profile);
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
     * The image build fails when ONNX Runtime's natives (the GPU providers on GPU images) need a library the image
     * lacks, after everything is in place; the JVM image ships the natives once (unpacked, and removed from the jar).
     */
    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void nativesAreCheckedToResolveInTheRuntimeImage(String dockerfile) throws IOException {
        List<String> lines = instructions(dockerfile);
        for (String variant : variants(lines)) {
            Map<String, String> env = env(lines, "runtime-" + variant);
            List<String> natives = words(env.get("ORT_REQUIRED_NATIVES"));
            if (variant.equals("cpu")) {
                assertEquals(List.of("libonnxruntime.so", "libonnxruntime4j_jni.so"), natives);
                assertFalse(env.containsKey("REQUIRED_SONAMES"), "the CPU build loads nothing with dlopen");
                continue;
            }
            assertTrue(natives.containsAll(List.of("libonnxruntime.so", "libonnxruntime4j_jni.so",
                    "libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so")), variant + natives);
            assertTrue(words(env.get("REQUIRED_SONAMES")).contains("libcudnn.so.9"),
                    variant + ": cuDNN is loaded with dlopen, ldd cannot see it");
        }
        int check = lines.indexOf("RUN /opt/sapiens/check-natives-resolve.sh /opt/onnxruntime $ORT_REQUIRED_NATIVES");
        assertTrue(check > lines.indexOf("FROM runtime-${VARIANT}"), "checked in the runtime image");
        assertTrue(check > lines.stream().filter(l -> l.startsWith("COPY --from=") && l.contains("/opt/onnxruntime"))
                .mapToInt(lines::indexOf).max().orElse(Integer.MAX_VALUE), "after the natives are copied in");
        assertFalse(String.join("\n", lines.subList(lines.indexOf("FROM runtime-${VARIANT}"), check))
                .matches("(?s).*(ORT_REQUIRED_NATIVES|REQUIRED_SONAMES)=.*"), "the variant's lists reach the check");
        if (dockerfile.endsWith(".jvm")) {
            assertTrue(lines.contains("RUN deploy/extract-onnxruntime-natives.sh target/quarkus-app /opt/onnxruntime"
                    + " --strip-jar"), "the natives are shipped once");
        }
    }

    /**
     * The TensorRT variant: the GPU image (same jar, same CUDA 12 + cuDNN 9 base) plus TensorRT 10's runtime packages
     * pinned to one CUDA 12 build, with every TensorRT library the provider links or loads checked at build time.
     */
    @Test
    void tensorrtVariantIsTheGpuImagePlusTensorrt10() throws IOException {
        List<String> lines = instructions("deploy/Dockerfile.jvm");
        assertEquals("gpu", mavenProfile(lines, "tensorrt"), "the TensorRT provider ships in the onnxruntime_gpu jar");
        String stage = stage(lines, "runtime-tensorrt");
        assertTrue(stage.startsWith("FROM runtime-gpu AS runtime-tensorrt\n"), "on the GPU image: " + stage);
        Map<String, String> env = env(lines, "runtime-tensorrt");
        assertEquals("tensorrt", env.get("SAPIENS_EXECUTION_PROVIDER"));
        assertTrue(words(env.get("ORT_REQUIRED_NATIVES")).containsAll(List.of("libonnxruntime_providers_tensorrt.so",
                "libonnxruntime_providers_cuda.so")), "TensorRT, and CUDA for the nodes TensorRT does not take");
        // soname -> the package of NVIDIA's CUDA repository that ships it
        Map<String, String> packages = Map.of("libnvinfer.so.10", "libnvinfer10", "libnvinfer_plugin.so.10",
                "libnvinfer-plugin10", "libnvonnxparser.so.10", "libnvonnxparsers10");
        List<String> sonames = words(env.get("REQUIRED_SONAMES"));
        assertTrue(sonames.contains("libcudnn.so.9"), "cuDNN 9, which the TensorRT provider links too");
        for (Map.Entry<String, String> library : packages.entrySet()) {
            assertTrue(sonames.contains(library.getKey()), library.getKey() + " is checked: " + sonames);
            assertTrue(stage.contains(" " + library.getValue() + "=${TENSORRT_VERSION}"), library.getValue() + " pinned");
        }
        assertTrue(stage.contains("ARG TENSORRT_VERSION\n"), "the stage sees the version");
        Matcher version = Pattern.compile("ARG TENSORRT_VERSION=(\\S+)").matcher(String.join("\n", lines));
        assertTrue(version.find(), "a default TensorRT version");
        assertTrue(version.group(1).matches("10\\.\\d+\\.\\d+\\.\\d+-1\\+cuda12\\.\\d+"),
                "TensorRT 10 built for CUDA 12: " + version.group(1));
    }

    /** GPU images are for GPU nodes: no CPU fallback, and the batcher runs (and warms up) only the listed sizes. */
    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void gpuVariantsFailWithoutAGpuAndRunOnlyTheirBatchSizes(String dockerfile) throws IOException {
        List<String> lines = instructions(dockerfile);
        Map<String, String> providers = Map.of("gpu", "cuda", "tensorrt", "tensorrt", "cpu", "cpu");
        for (String variant : variants(lines)) {
            Map<String, String> env = env(lines, "runtime-" + variant);
            assertEquals(providers.get(variant), env.get("SAPIENS_EXECUTION_PROVIDER"), variant);
            if (variant.equals("cpu")) {
                continue;
            }
            assertEquals("fail", env.get("SAPIENS_EXECUTION_CUDA_FALLBACK"), variant + ": exits, never serves on CPU");
            assertEquals("8", env.get("SAPIENS_BATCHING_MAX_BATCH_SIZE"), variant);
            assertEquals("1,2,4,8", env.get("SAPIENS_BATCHING_BATCH_SIZES"), variant);
            assertEquals("16", env.get("SAPIENS_LIMITS_MAX_IN_FLIGHT"), variant);
            assertEquals("all", env.get("NVIDIA_VISIBLE_DEVICES"), variant);
            assertEquals("compute,utility", env.get("NVIDIA_DRIVER_CAPABILITIES"), variant);
        }
    }

    /**
     * Every image runs with glibc limited to 2 malloc arenas: with the default, native memory outside the JVM grew with
     * every request in the soak (docs/performance.md#soak).
     */
    @ParameterizedTest
    @ValueSource(strings = {"deploy/Dockerfile.jvm", "deploy/Dockerfile.native"})
    void imagesLimitGlibcToTwoMallocArenas(String dockerfile) throws IOException {
        List<String> lines = instructions(dockerfile);
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : lines.subList(lines.indexOf("FROM runtime-${VARIANT}"), lines.size())) {
            Matcher pair = ENV_PAIR.matcher(line.startsWith("ENV ") ? line.substring(4) : "");
            while (pair.find()) {
                env.put(pair.group(1), pair.group(3));
            }
        }
        assertEquals("2", env.get("MALLOC_ARENA_MAX"), "set in the image every variant ends as");
    }

    /** The variants a Dockerfile offers: its runtime-* stages. */
    private static List<String> variants(List<String> lines) {
        return lines.stream().map(Pattern.compile("^FROM \\S+ AS runtime-(\\w+)$")::matcher).filter(Matcher::find)
                .map(m -> m.group(1)).toList();
    }

    /** The Maven profile a variant builds: its own name (-P${VARIANT}) or its maven-* stage's MAVEN_PROFILE. */
    private static String mavenProfile(List<String> lines, String variant) {
        String text = String.join("\n", lines);
        if (text.contains(" -P${VARIANT} ")) {
            return variant;
        }
        assertTrue(lines.contains("FROM maven-${VARIANT} AS build") && text.contains(" -P${MAVEN_PROFILE} "),
                "the build takes its profile from the variant's maven-* stage");
        String profile = env(lines, "maven-" + variant).get("MAVEN_PROFILE");
        assertNotNull(profile, "maven-" + variant + " sets MAVEN_PROFILE");
        return profile;
    }

    private static final Pattern ENV_PAIR = Pattern.compile("(\\w+)=(?:\"([^\"]*)\"|(\\S*))");

    /** The environment a stage ends with: its parent's, when it is built FROM another stage, then its own ENV. */
    private static Map<String, String> env(List<String> lines, String name) {
        String stage = stage(lines, name);
        assertFalse(stage.isEmpty(), "no stage " + name);
        String parent = stage.substring("FROM ".length(), stage.indexOf(' ', "FROM ".length()));
        Map<String, String> env = lines.stream().anyMatch(l -> l.startsWith("FROM ") && l.endsWith(" AS " + parent))
                ? env(lines, parent) : new LinkedHashMap<>();
        for (String line : stage.split("\n")) {
            Matcher pair = ENV_PAIR.matcher(line.startsWith("ENV ") ? line.substring(4) : "");
            while (pair.find()) {
                env.put(pair.group(1), pair.group(2) != null ? pair.group(2) : pair.group(3));
            }
        }
        return env;
    }

    private static List<String> words(String list) {
        return list == null ? List.of() : Arrays.stream(list.trim().split("\\s+")).toList();
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
